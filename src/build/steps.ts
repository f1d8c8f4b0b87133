/**
 * One instruction: what it changes in the config, its cache key parts, its history line (as
 * BuildKit writes `created_by`), and for filesystem steps an `apply` that makes the layer.
 */
import { SkiffError } from '../errors.ts';
import { expandWord, expandWords, parseKeyValues, splitRaw } from './expand.ts';
import type { Instruction } from './parser.ts';
import { overlayDiff, stepOverlay, type BuildRun } from './builder.ts';
import { resolveChown } from './copy.ts';
import { mkdirAll } from './fs-write.ts';
import { copyStepOf, runStepOf } from './fs-steps.ts';
import { parseSignal } from '../runtime/spec/signals.ts';
import type { Vertex } from './progress.ts';
import { checkFlags, flagValue, type Stage } from './stages.ts';
import { goHealthcheck, goList, goQuoteList, goSet, lookupIn, setEnv, type BuildConfig, type StageState } from './state.ts';
import { retryAfterIO } from '../fs/pending-io.ts';
import { materializeTree } from '../fs/tree.ts';

export interface StepResult {
  keyParts: string[];
  config: BuildConfig;
  createdBy: string;
  comment?: string;
  state?: Partial<StageState>;
  /** Makes the step's layer (null: nothing changed). */
  apply?: (v: Vertex | undefined) => Promise<Uint8Array | null>;
}

export const COMMENT = 'buildkit.dockerfile.v0';

export function fail(message: string): never {
  throw new SkiffError('INVALID_ARGUMENT', message);
}

/** Docker's durations ("30s", "1m30s", "500ms") in nanoseconds. */
function duration(flag: string, v: string): number {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  const unit: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  let total = 0;
  let m: RegExpExecArray | null;
  let end = 0;
  while ((m = re.exec(v))) { total += Number(m[1]) * unit[m[2]!]!; end = re.lastIndex; }
  if (!v || end !== v.length) fail(`--${flag}: invalid duration "${v}"`);
  return Math.round(total);
}

/** The shell form as argv: the stage's SHELL (default /bin/sh -c) plus the command line. */
export function shellArgs(config: BuildConfig, cmdline: string): string[] {
  return [...(config.Shell ?? ['/bin/sh', '-c']), cmdline];
}

function exposePorts(words: string[]): string[] {
  const out: string[] = [];
  for (const w of words) {
    const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(w);
    if (!m) fail(`invalid containerPort: ${w}`);
    const proto = (m[3] ?? 'tcp').toLowerCase();
    const lo = Number(m[1]);
    const hi = m[2] ? Number(m[2]) : lo;
    if (hi < lo || hi > 65535) fail(`invalid range specified for container port: ${w}`);
    for (let p = lo; p <= hi; p++) out.push(`${p}/${proto}`);
  }
  return out;
}

export function workdirPath(cur: string | undefined, p: string): string {
  const joined = p.startsWith('/') ? p : `${cur ?? '/'}/${p}`;
  const parts: string[] = [];
  for (const x of joined.split('/')) {
    if (!x || x === '.') continue;
    if (x === '..') parts.pop();
    else parts.push(x);
  }
  return `/${parts.join('/')}`;
}

export async function dispatch(run: BuildRun, stage: Stage, s: StageState, ins: Instruction): Promise<StepResult> {
  const esc = run.df.escape;
  const lookup = lookupIn(s);
  const config: BuildConfig = structuredClone(s.config);
  const words = (): string[] => expandWords(ins.rest, lookup, esc);
  const noFlags = (): void => checkFlags(ins, [], run.file);
  const meta = (createdBy: string, extra: Partial<StepResult> = {}): StepResult => ({ keyParts: [createdBy], config, createdBy, comment: COMMENT, ...extra });
  switch (ins.cmd) {
    case 'env': {
      noFlags();
      const pairs = parseKeyValues(ins.rest, lookup, esc, 'ENV');
      for (const [k, v] of pairs) setEnv(config, k, v);
      return meta(`ENV ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`);
    }
    case 'label': {
      noFlags();
      const pairs = parseKeyValues(ins.rest, lookup, esc, 'LABEL');
      config.Labels = { ...(config.Labels ?? {}) };
      for (const [k, v] of pairs) config.Labels[k] = v;
      return meta(`LABEL ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`);
    }
    case 'maintainer':
      noFlags();
      return meta(`MAINTAINER ${ins.rest}`, { state: { author: ins.rest } });
    case 'arg': {
      noFlags();
      const args = new Map(s.args);
      const order = [...s.argOrder];
      const shown: string[] = [];
      const keyParts: string[] = ['ARG'];
      const raw = splitRaw(ins.rest, esc);
      if (raw.length === 0) fail('ARG requires at least one argument');
      for (const w of raw) {
        const eq = w.indexOf('=');
        const name = eq < 0 ? w : w.slice(0, eq);
        if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name)) fail(`invalid ARG name "${name}"`);
        const def = eq < 0 ? undefined : expandWord(w.slice(eq + 1), (n) => (args.has(n) ? args.get(n) : lookup(n)), esc);
        run.usedArgs.add(name);
        const value = name in run.buildArgs ? run.buildArgs[name] : def ?? run.metaValues.get(name) ?? run.predefined[name];
        args.set(name, value);
        if (!order.includes(name)) order.push(name);
        // History shows the value the build resolved (build arg, global ARG, or default).
        shown.push(value !== undefined ? `${name}=${value}` : name);
        keyParts.push(def !== undefined ? `${name}=${def}` : name);
      }
      // The value is not part of this step's key: a changed build arg misses where it is used.
      return { keyParts, config, createdBy: `ARG ${shown.join(' ')}`, comment: COMMENT, state: { args, argOrder: order } };
    }
    case 'workdir': {
      noFlags();
      const w = words();
      if (w.length !== 1) fail('WORKDIR requires exactly one argument');
      const dir = workdirPath(config.WorkingDir, w[0]!);
      config.WorkingDir = dir;
      return {
        keyParts: [`WORKDIR ${dir}`], config, createdBy: `WORKDIR ${dir}`, comment: COMMENT,
        apply: async () => {
          const fs = await stepOverlay(run, s);
          // As BuildKit: the directories WORKDIR makes belong to the USER set before it.
          let owner = { uid: 0, gid: 0 };
          if (config.User) {
            try {
              owner = await retryAfterIO(() => resolveChown(fs, config.User!));
            } catch {
              owner = { uid: 0, gid: 0 };
            }
          }
          mkdirAll(fs, dir, owner);
          await materializeTree(fs.upperTree.root); // diffs read synchronously (image bytes from IndexedDB)
          return overlayDiff(fs);
        },
      };
    }
    case 'user': {
      noFlags();
      const w = words();
      if (w.length !== 1) fail('USER requires exactly one argument');
      config.User = w[0]!;
      return meta(`USER ${w[0]}`);
    }
    case 'cmd':
    case 'entrypoint': {
      noFlags();
      const argv = ins.json ?? shellArgs(config, ins.rest);
      const name = ins.cmd.toUpperCase();
      if (ins.cmd === 'cmd') config.Cmd = argv;
      else {
        config.Entrypoint = argv;
        // An ENTRYPOINT resets a CMD inherited from the base image (not one set in this stage).
        if (!s.cmdSet) delete config.Cmd;
      }
      return meta(`${name} ${goQuoteList(argv)}`, ins.cmd === 'cmd' ? { state: { cmdSet: true } } : {});
    }
    case 'shell': {
      noFlags();
      if (!ins.json) fail('SHELL requires the arguments to be in JSON form');
      if (ins.json.length === 0) fail('SHELL requires at least one argument');
      config.Shell = ins.json;
      return meta(`SHELL ${goList(ins.json)}`);
    }
    case 'expose': {
      noFlags();
      const ports = exposePorts(words());
      if (ports.length === 0) fail('EXPOSE requires at least one argument');
      config.ExposedPorts = { ...(config.ExposedPorts ?? {}) };
      for (const p of ports) config.ExposedPorts[p] = {};
      return meta(`EXPOSE ${goSet(ports)}`);
    }
    case 'volume': {
      noFlags();
      const vols = ins.json ?? words();
      if (vols.length === 0 || vols.some((v) => v.trim() === '')) fail('VOLUME specified can not be an empty string');
      config.Volumes = { ...(config.Volumes ?? {}) };
      for (const v of vols) config.Volumes[v] = {};
      return meta(`VOLUME ${goList(vols)}`);
    }
    case 'stopsignal': {
      noFlags();
      const w = words();
      if (w.length !== 1) fail('STOPSIGNAL requires exactly one argument');
      // Validated as Docker does (the name is kept as written).
      parseSignal(w[0]!);
      config.StopSignal = w[0]!;
      return meta(`STOPSIGNAL ${w[0]}`);
    }
    case 'healthcheck': {
      checkFlags(ins, ['interval', 'timeout', 'start-period', 'start-interval', 'retries'], run.file);
      const first = ins.rest.split(/\s+/)[0]?.toUpperCase();
      if (first === 'NONE') {
        if (ins.rest.trim().split(/\s+/).length > 1) fail('HEALTHCHECK NONE takes no arguments');
        config.Healthcheck = { Test: ['NONE'] };
      } else if (first === 'CMD') {
        const after = ins.rest.trim().slice(3).trim();
        const json = after.startsWith('[') ? (() => { try { return JSON.parse(after) as string[]; } catch { return undefined; } })() : undefined;
        const hc: NonNullable<BuildConfig['Healthcheck']> = { Test: json ? ['CMD', ...json] : ['CMD-SHELL', after] };
        for (const [flag, field] of [['interval', 'Interval'], ['timeout', 'Timeout'], ['start-period', 'StartPeriod'], ['start-interval', 'StartInterval']] as const) {
          const v = flagValue(ins, flag);
          if (v !== undefined) hc[field] = duration(flag, v);
        }
        const r = flagValue(ins, 'retries');
        if (r !== undefined) {
          if (!/^\d+$/.test(r) || Number(r) < 1) fail(`--retries cannot be less than 1 (got ${r})`);
          hc.Retries = Number(r);
        }
        config.Healthcheck = hc;
      } else fail(`Unknown type "${first ?? ''}" in HEALTHCHECK (try CMD)`);
      return meta(`HEALTHCHECK ${goHealthcheck(config.Healthcheck)}`);
    }
    case 'onbuild': {
      const trigger = ins.rest.trim();
      const t = trigger.split(/\s+/)[0]?.toUpperCase() ?? '';
      if (t === 'ONBUILD') fail('Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
      if (t === 'FROM' || t === 'MAINTAINER') fail(`${t} isn't allowed as an ONBUILD trigger`);
      if (!trigger) fail('ONBUILD requires at least one argument');
      config.OnBuild = [...(config.OnBuild ?? []), trigger];
      return meta(`ONBUILD ${trigger}`);
    }
    case 'run':
      return runStepOf(run, stage, s, ins, config);
    case 'copy':
    case 'add':
      return copyStepOf(run, stage, s, ins, config);
  }
  fail(`unknown instruction: ${ins.cmd}`);
}
