/**
 * The stage graph: ARGs before the first FROM (meta args, usable in FROM lines), one stage per
 * FROM (`FROM [--platform=P] image [AS name]`), stages named or numbered, and which stages a
 * target needs (through `FROM <stage>`, `COPY --from=<stage>`, `RUN --mount=from=`), so a
 * `--target` build skips the rest, as BuildKit does.
 */
import { SkiffError } from '../errors.ts';
import { expandWord, splitRaw, splitWhitespace } from './expand.ts';
import type { Dockerfile, Instruction } from './parser.ts';
import { parseError, suggest } from './parser.ts';

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

export type FlagType = 'string' | 'bool' | 'strings';

/** The flag's last value (a bool flag written bare is "true"), or undefined when absent. */
export function flagValue(ins: Instruction, name: string): string | undefined {
  let v: string | undefined;
  for (const f of ins.flags) {
    const m = /^--([^=]*)(=([\s\S]*))?$/.exec(f);
    if (m && m[1] === name) v = m[2] !== undefined ? m[3]! : 'true';
  }
  return v;
}

/** Every value of a repeatable flag (`--exclude`). */
export function flagValues(ins: Instruction, name: string): string[] {
  const out: string[] = [];
  for (const f of ins.flags) {
    const m = /^--([^=]*)=([\s\S]*)$/.exec(f);
    if (m && m[1] === name) out.push(m[2]!);
  }
  return out;
}

/** The flags as BuildKit's BFlags checks them: known names, values where needed, bools, no repeats. */
export function checkFlags(ins: Instruction, allowed: Record<string, FlagType>, file: string): void {
  const seen = new Set<string>();
  const err = (m: string): never => { throw new SkiffError('INVALID_ARGUMENT', m); };
  for (const f of ins.flags) {
    const eq = f.indexOf('=');
    const flag = eq < 0 ? f : f.slice(0, eq);
    const value = eq < 0 ? undefined : f.slice(eq + 1);
    const name = flag.slice(2);
    const type = Object.hasOwn(allowed, name) ? allowed[name] : undefined;
    if (!type) err(`unknown flag: ${flag}${suggest(name, Object.keys(allowed), true)}`);
    if (seen.has(name) && type !== 'strings') err(`duplicate flag specified: ${flag}`);
    seen.add(name);
    if (type === 'bool') {
      if (value === '') err(`missing a value on flag: ${flag}`);
      if (value !== undefined && !['true', 'false'].includes(value.toLowerCase())) err(`expecting boolean value for flag ${flag}, not: ${value}`);
    } else if (value === undefined) err(`missing a value on flag: ${flag}`);
  }
}

/** A bool flag's value (`--link`, `--link=true`). */
export function flagBool(ins: Instruction, name: string): boolean | undefined {
  const v = flagValue(ins, name);
  return v === undefined ? undefined : v.toLowerCase() === 'true';
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
    if (x.flags.length) throw parseError(file, x.line, `unknown flag: ${x.flags[0]!.split('=')[0]}`);
    const words = splitRaw(x.rest, df.escape);
    if (words.length === 0) throw parseError(file, x.line, 'ARG requires at least one argument');
    for (const word of words) {
      const eq = word.indexOf('=');
      const name = eq < 0 ? word : word.slice(0, eq);
      if (name === '') throw parseError(file, x.line, 'ARG names can not be blank');
      let value: string | undefined;
      if (Object.hasOwn(buildArgs, name)) value = buildArgs[name];
      else if (eq >= 0) {
        try {
          value = expandWord(word.slice(eq + 1), (n) => metaValues.get(n), df.escape);
        } catch (err) {
          throw parseError(file, x.line, (err as Error).message);
        }
      }
      metaArgs.push({ name, ...(value !== undefined ? { value } : {}) });
      // An ARG without a value leaves an earlier value (or a predefined one) in place, as BuildKit does.
      if (value !== undefined) metaValues.set(name, value);
    }
  }
  for (; i < ins.length; i++) {
    const x = ins[i]!;
    if (x.cmd === 'from') {
      // Split at whitespace first; only the base name is expanded (a stage name is taken as written).
      const args = splitWhitespace(x.rest);
      if (args.length === 3 && args[1]!.toLowerCase() === 'as') {
        if (!/^[a-z][a-z0-9-_.]*$/.test(args[2]!.toLowerCase())) throw parseError(file, x.line, `invalid name for build stage: "${args[2]}", name can't start with a number or contain symbols`);
      } else if (args.length !== 1) throw parseError(file, x.line, 'FROM requires either one or three arguments');
      try {
        checkFlags(x, { platform: 'string' }, file);
      } catch (e) {
        throw parseError(file, x.line, (e as Error).message);
      }
      const name = args.length === 3 ? args[2]!.toLowerCase() : undefined;
      let base: string;
      let platform: string | undefined;
      const look = (n: string): string | undefined => metaValues.get(n);
      try {
        base = expandWord(args[0]!, look, df.escape);
      } catch (err) {
        throw parseError(file, x.line, (err as Error).message);
      }
      if (!base) throw parseError(file, x.line, `base name (${args[0]}) should not be blank`);
      const pf = flagValue(x, 'platform');
      if (pf !== undefined && pf !== '') {
        try {
          platform = expandWord(pf, look, df.escape);
        } catch (err) {
          throw parseError(file, x.line, `failed to process arguments for platform ${pf}: ${(err as Error).message}`);
        }
        if (!platform) throw parseError(file, x.line, `empty platform value from expression ${pf}`);
      }
      stages.push({
        index: stages.length, base, from: x, instructions: [],
        ...(name !== undefined ? { name } : {}),
        ...(platform !== undefined ? { platform } : {}),
      });
    } else stages.at(-1)!.instructions.push(x);
  }
  if (stages.length === 0) throw new SkiffError('INVALID_ARGUMENT', `${file}: dockerfile contains no stages to build`);
  return { metaArgs, stages, metaValues };
}

/** The stage a name or index refers to, if it is one defined before `before`. */
export function findStage(stages: Stage[], ref: string, before: number): Stage | undefined {
  const lower = ref.toLowerCase();
  // With duplicate names (a lint warning in BuildKit, not an error) the latest one counts.
  const named = stages.filter((s) => s.name === lower && s.index < before).at(-1);
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
  const s = plan.stages.filter((x) => x.name === target.toLowerCase()).at(-1);
  if (!s) {
    const names = plan.stages.map((x) => x.name ?? `stage-${x.index}`);
    throw new SkiffError('NOT_FOUND', `target stage "${target}" could not be found${suggest(target, names, true)}`);
  }
  return s;
}
