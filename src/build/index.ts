export { build, type BuildHost, type BuildOptions, type BuildResult } from './builder.ts';
export { parseDockerfile, type Dockerfile, type Instruction, type Heredoc } from './parser.ts';
export { expandWord, expandWords } from './expand.ts';
export { IgnoreMatcher } from './ignore.ts';
export { cacheUsage, pruneCache } from './cache.ts';
export { runStepInContainer } from './run-step.ts';
export type { BuildContextInput } from './context.ts';
export { CACHE_VOLUME_PREFIX } from './run-mounts.ts';
