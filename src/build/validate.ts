/**
 * The checks BuildKit makes while parsing, before any stage is built: they fail the build even
 * for an instruction in a stage the target does not need (flags, argument forms, SHELL's JSON,
 * ONBUILD triggers, HEALTHCHECK options, heredoc destinations, COPY --from variables). The same
 * checks run again where a step is dispatched; this pass only makes them whole-file.
 */
import { SkiffError } from '../errors.ts';
import { expandWord, splitRaw } from './expand.ts';
import { parseError, parseHeredocWord, parseJsonArray, type Dockerfile, type Instruction } from './parser.ts';
import { checkFlags, flagValue, type FlagType } from './stages.ts';

const FLAGS: Record<string, Record<string, FlagType>> = {
  add: { chown: 'string', chmod: 'string', link: 'bool', 'keep-git-dir': 'bool', checksum: 'string', unpack: 'bool', exclude: 'strings' },
  copy: { from: 'string', chown: 'string', chmod: 'string', link: 'bool', parents: 'bool', exclude: 'strings' },
  from: { platform: 'string' },
  run: { mount: 'strings', network: 'string', security: 'string' },
  healthcheck: { interval: 'string', timeout: 'string', 'start-period': 'string', 'start-interval': 'string', retries: 'string' },
};

function fail(message: string): never {
  throw new SkiffError('INVALID_ARGUMENT', message);
}

/** Go's time.ParseDuration ("30s", "1m30s", "500ms", "1.5h") in nanoseconds; BuildKit's messages. */
export function parseGoDuration(v: string): number {
  const unit: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, μs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  const bad = (): never => fail(`time: invalid duration ${JSON.stringify(v)}`);
  let t = v;
  let sign = 1;
  if (t[0] === '-' || t[0] === '+') { if (t[0] === '-') sign = -1; t = t.slice(1); }
  if (t === '0') return 0;
  if (t === '') bad();
  let total = 0;
  while (t) {
    const m = /^(\d*(?:\.\d*)?)([a-zµμ]*)/.exec(t)!;
    if (!m[1] || m[1] === '.') bad();
    if (!m[2]) fail(`time: missing unit in duration ${JSON.stringify(v)}`);
    if (!Object.hasOwn(unit, m[2]!)) fail(`time: unknown unit ${JSON.stringify(m[2])} in duration ${JSON.stringify(v)}`);
    total += Number(m[1]) * unit[m[2]!]!;
    t = t.slice(m[0].length);
  }
  return sign * Math.round(total);
}


function check(ins: Instruction, escape: string): void {
  const cmd = ins.cmd;
  if (cmd === 'healthcheck' && /^\s*NONE\b/i.test(ins.rest)) {
    if (ins.rest.trim().split(/\s+/).length > 1) fail('HEALTHCHECK NONE takes no arguments');
    return;
  }
  checkFlags(ins, FLAGS[cmd] ?? {}, '');
  switch (cmd) {
    case 'env':
    case 'label': {
      // The form only: values are expanded where the step runs (a bad ${} in an unused stage is no error).
      const what = cmd.toUpperCase();
      const words = splitRaw(ins.rest, escape);
      if (words.length === 0) fail(`${what} requires at least one argument`);
      if (!words[0]!.includes('=')) {
        if (!/^\S+[\t\v\f\r ]+\S/.test(ins.rest.trim())) fail(`${what} must have two arguments`);
        break;
      }
      for (const w of words) {
        if (!w.includes('=')) fail(`Syntax error - can't find = in ${JSON.stringify(w)}. Must be of the form: name=value`);
        if (w.startsWith('=')) fail(`${what} names can not be blank`);
      }
      break;
    }
    case 'arg':
      for (const w of splitRaw(ins.rest, escape)) if (w.startsWith('=')) fail('ARG names can not be blank');
      break;
    case 'shell':
      if (!ins.json) fail('SHELL requires the arguments to be in JSON form');
      if (ins.json.length === 0) fail('SHELL requires at least one argument');
      break;
    case 'onbuild': {
      const t = ins.rest.trim().split(/\s+/)[0]?.toUpperCase() ?? '';
      if (t === 'ONBUILD') fail('Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
      if (t === 'FROM' || t === 'MAINTAINER') fail(`${t} isn't allowed as an ONBUILD trigger`);
      break;
    }
    case 'copy':
    case 'add': {
      const args = ins.json ?? ins.rest.split(/[\t\v\f\r ]+/).filter(Boolean);
      if (!ins.json && parseHeredocWord(args.at(-1) ?? '')) fail(`${cmd.toUpperCase()} cannot accept a heredoc as a destination`);
      const from = flagValue(ins, 'from');
      if (from && expandWord(from, () => undefined, escape) !== from) {
        fail('variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround');
      }
      break;
    }
    case 'healthcheck': {
      const m = /^(\S+)\s*([\s\S]*)$/.exec(ins.rest)!;
      const typ = m[1]!.toUpperCase();
      if (typ !== 'CMD') fail(`Unknown type ${JSON.stringify(typ)} in HEALTHCHECK (try CMD)`);
      if (!parseJsonArray(m[2]!)?.length && !m[2]!.trim()) fail('Missing command after HEALTHCHECK CMD');
      for (const f of ['interval', 'timeout', 'start-period', 'start-interval']) {
        const v = flagValue(ins, f);
        if (v) {
          const d = parseGoDuration(v);
          if (d !== 0 && d < 1e6) fail(`Interval "${f}" cannot be less than 1ms`);
        }
      }
      const r = flagValue(ins, 'retries');
      if (r && !/^[+-]?\d+$/.test(r)) fail(`strconv.ParseInt: parsing ${JSON.stringify(r)}: invalid syntax`);
      if (r && Number(r) < 0) fail(`--retries cannot be negative (${Number(r)})`);
      break;
    }
  }
}

/** `COPY --from` as BuildKit's stage graph checks it: an index must exist, a stage cannot copy from itself. */
function checkFrom(ins: Instruction, names: Array<string | undefined>, current: number): void {
  const from = flagValue(ins, 'from');
  if (!from) return;
  if (/^\d+$/.test(from)) {
    if (Number(from) >= names.length) fail(`invalid stage index ${from}`);
    if (Number(from) === current) fail(`circular dependency detected on stage: ${names[current] ?? `stage-${current}`}`);
  } else if (names.lastIndexOf(from.toLowerCase()) === current) fail(`circular dependency detected on stage: ${from.toLowerCase()}`);
}

/** Every instruction of the file, checked as BuildKit's instructions.Parse does. */
export function validateDockerfile(df: Dockerfile, file: string): void {
  const names: Array<string | undefined> = [];
  for (const ins of df.instructions) {
    if (ins.cmd !== 'from') continue;
    const w = ins.rest.trim().split(/[\t\v\f\r ]+/);
    names.push(w.length === 3 && w[1]!.toLowerCase() === 'as' ? w[2]!.toLowerCase() : undefined);
  }
  let current = -1;
  for (const ins of df.instructions) {
    if (ins.cmd === 'from') current++;
    try {
      check(ins, df.escape);
      if (ins.cmd === 'copy' && current >= 0) checkFrom(ins, names, current);
    } catch (err) {
      // BuildKit's wording for errors of this phase.
      throw parseError(file, ins.line, `dockerfile parse error on line ${ins.line}: ${(err as Error).message}`);
    }
  }
}
