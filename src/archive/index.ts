export type * from './types.ts';
export { TarParser, readTar, readTarStream, type TarParserOptions } from './tar-reader.ts';
export { TarWriter, writeTar, writeTarStream, tarEntry } from './tar-writer.ts';
export * from './compression.ts';
