/**
 * The stage graph: ARGs before the first FROM (meta args, usable in FROM lines), one stage per
 * FROM (`FROM [--platform=P] image [AS name]`), stages named or numbered, and which stages a
 * target needs (through `FROM <stage>`, `COPY --from=<stage>`, `RUN --mount=from=`), so a
 * `--target` build skips the rest, as BuildKit does.
 */
import { SkiffError } from '../errors.ts';
import { expandWord, expandWords } from './expand.ts';
import type { Dockerfile, Instruction } from './parser.ts';
import { parseError } from './parser.ts';

export interface MetaArg {
  name: string;
  value?: string;
}

export interface Stage {
  index: number;
  /** `AS name`, lower-cased as Docker does. */
  name?: string;
  /** The FROM image, meta args expanded ("scratch", a reference, or an earlier stage's name/index). */
  base: string;
  /** The FROM line's --platform, expanded. */
  platform?: string;
  from: Instruction;
  instructions: Instruction[];
}

export interface StagePlan {
  metaArgs: MetaArg[];
  stages: Stage[];
}

export function flagValue(ins: Instruction, name: string): string | undefined {
  let v: string | undefined;
  for (const f of ins.flags) {
    const m = /^--([^=]+)(?:=(.*))?$/.exec(f);
    if (m && m[1] === name) v = m[2] ?? '';
  }
  return v;
}

/** Flags other than the allowed ones are errors (Docker: "unknown flag: x"). */
export function checkFlags(ins: Instruction, allowed: string[], file: string): void {
  for (const f of ins.flags) {
    const name = /^--([^=]+)/.exec(f)?.[1] ?? f;
    if (!allowed.includes(name)) throw parseError(file, ins.line, `${ins.cmd.toUpperCase()}: unknown flag: ${name}`);
  }
}

/**
 * Meta-arg values: a --build-arg wins over the default; defaults may use earlier meta args.
 * `predefined` (TARGETPLATFORM ...) are available to FROM lines without a declaration.
 */
export function planStages(df: Dockerfile, buildArgs: Record<string, string>, predefined: Record<string, string>, file: string): StagePlan & { metaValues: Map<string, string> } {
  const metaArgs: MetaArg[] = [];
  const metaValues = new Map<string, string>(Object.entries(predefined));
  const stages: Stage[] = [];
  let i = 0;
  const ins = df.instructions;
  for (; i < ins.length && ins[i]!.cmd !== 'from'; i++) {
    const x = ins[i]!;
    if (x.cmd !== 'arg') throw parseError(file, x.line, 'no build stage in current context');
    for (const word of x.rest.split(/\s+/).filter(Boolean)) {
      const eq = word.indexOf('=');
      const name = eq < 0 ? word : word.slice(0, eq);
      const def = eq < 0 ? undefined : expandWord(word.slice(eq + 1), (n) => metaValues.get(n), df.escape);
      const value = name in buildArgs ? buildArgs[name] : def;
      metaArgs.push({ name, ...(value !== undefined ? { value } : {}) });
      if (value !== undefined) metaValues.set(name, value);
      else metaValues.delete(name);
    }
  }
  for (; i < ins.length; i++) {
    const x = ins[i]!;
    if (x.cmd === 'from') {
      checkFlags(x, ['platform'], file);
      const words = expandWords(x.rest, (n) => metaValues.get(n), df.escape);
      if (words.length !== 1 && !(words.length === 3 && words[1]!.toLowerCase() === 'as')) {
        throw parseError(file, x.line, 'FROM requires either one or three arguments');
      }
      const name = words.length === 3 ? words[2]!.toLowerCase() : undefined;
      if (name !== undefined) {
        if (!/^[a-z][a-z0-9-_.]*$/.test(name)) throw parseError(file, x.line, `invalid name for build stage: "${words[2]}", name can't start with a number or contain symbols`);
        if (stages.some((s) => s.name === name)) throw parseError(file, x.line, `duplicate stage name "${name}"`);
      }
      const platform = flagValue(x, 'platform');
      if (!words[0]) throw parseError(file, x.line, 'base name (' + x.rest + ') should not be blank');
      stages.push({
        index: stages.length, base: words[0], from: x, instructions: [],
        ...(name !== undefined ? { name } : {}),
        ...(platform !== undefined ? { platform: expandWord(platform, (n) => metaValues.get(n), df.escape) } : {}),
      });
    } else stages.at(-1)!.instructions.push(x);
  }
  if (stages.length === 0) throw new SkiffError('INVALID_ARGUMENT', `${file}: the Dockerfile has no FROM instruction (file with no instructions)`);
  return { metaArgs, stages, metaValues };
}

/** The stage a name or index refers to, if it is one defined before `before`. */
export function findStage(stages: Stage[], ref: string, before: number): Stage | undefined {
  const lower = ref.toLowerCase();
  const named = stages.find((s) => s.name === lower && s.index < before);
  if (named) return named;
  if (/^\d+$/.test(ref)) {
    const n = Number(ref);
    if (n < before) return stages[n];
  }
  return undefined;
}

/** The stage to build: `--target` by name, else the last. */
export function targetStage(plan: StagePlan, target: string | undefined): Stage {
  if (target === undefined || target === '') return plan.stages.at(-1)!;
  const s = plan.stages.find((x) => x.name === target.toLowerCase());
  if (!s) throw new SkiffError('NOT_FOUND', `failed to reach build target ${target} in Dockerfile`);
  return s;
}
