export { createApiServer, type ApiServerOptions } from './server.ts';
export { apiRouter, type ApiOptions } from './routes.ts';
export { apiFetchHandler } from './fetch.ts';
export { listenOn, parseListenAddress, type ListenAddress } from './listen.ts';
export { API_VERSION, MIN_API_VERSION } from './router.ts';
export { frame, FrameReader } from './stream.ts';
