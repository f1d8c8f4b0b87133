export * from './digest.ts';
export * from './mediatypes.ts';
export * from './descriptor.ts';
export * from './manifest.ts';
export * from './config.ts';
export * from './platform.ts';
export * from './reference.ts';
