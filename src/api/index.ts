export { createApiServer, apiRouter, type ApiServerOptions } from './server.ts';
export { listenOn, parseListenAddress, type ListenAddress } from './listen.ts';
export { API_VERSION, MIN_API_VERSION } from './router.ts';
export { frame, FrameReader } from './stream.ts';
