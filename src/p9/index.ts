export * from './messages.ts';
export {
  decode, encode, encodeDirents, decodeDirents, direntSize, messageName, peekHeader, decodeErrorTag, P9DecodeError,
} from './codec.ts';
export { P9Server, type P9ServerOptions, type ExportOptions, type P9ServerState } from './server.ts';
export { describe as describeMessage, type TraceSink } from './trace.ts';
export { toHandle9p, type Handle9p } from './v86.ts';
export { secretName, isSecretName } from './exports-root.ts';
