export type * from './types.ts';
export { TarParser, readTar, readTarEvents, readTarStream, type TarEvent, type TarParserOptions } from './tar-reader.ts';
export { TarWriter, writeTar, writeTarStream, tarEntry } from './tar-writer.ts';
export * from './compression.ts';
