/**
 * One instruction: what it changes in the config, its cache key parts, its history line (as
 * BuildKit writes `created_by`), and for filesystem steps an `apply` that makes the layer.
 */
import { expandWord, expandWords, parseKeyValues, splitRaw, splitWhitespace } from './expand.ts';
import { parseJsonArray, type Instruction } from './parser.ts';
import { COMMENT, fail, overlayDiff, shellArgs, stepOverlay, workdirPath, type BuildRun, type StepResult } from './build-run.ts';

export type { StepResult } from './build-run.ts';
import { resolveChown } from './copy.ts';
import { mkdirAll } from './fs-write.ts';
import { copyStepOf, runStepOf } from './fs-steps.ts';
import { parseSignal } from '../runtime/spec/signals.ts';
import type { Vertex } from './progress.ts';
import { checkFlags, flagValue, type Stage } from './stages.ts';
import { goHealthcheck, goList, goQuoteList, lookupIn, setEnv, type BuildConfig, type StageState } from './state.ts';
import { retryAfterIO } from '../fs/pending-io.ts';
import { parseGoDuration } from './validate.ts';
import { materializeTree } from '../fs/tree.ts';

function healthInterval(ins: Instruction, flag: string): number | undefined {
  const v = flagValue(ins, flag);
  if (v === undefined || v === '') return undefined;
  const d = parseGoDuration(v);
  if (d === 0) return undefined;
  if (d < 1e6) fail(`Interval "${flag}" cannot be less than 1ms`);
  return d;
}

/** One EXPOSE word as BuildKit's port parser reads it: `[ip:][hostPort:]port[-end][/proto]`. */
function exposePort(raw: string): string[] {
  const parts = raw.split(':');
  const container = parts.at(-1)!;
  const slash = container.indexOf('/');
  const port = slash < 0 ? container : container.slice(0, slash);
  const proto = slash < 0 ? '' : container.slice(slash + 1);
  if (port === '') fail(`invalid port: "${raw}": no port specified`);
  if (!['', 'tcp', 'udp', 'sctp'].includes(proto.toLowerCase())) fail(`invalid port: "${raw}": invalid proto: ${proto}`);
  const num = (x: string): number => {
    if (!/^[+-]?\d+$/.test(x)) throw new Error();
    const n = Number(x);
    if (n < 0 || n > 65535) throw new Error();
    return n;
  };
  let lo: number;
  let hi: number;
  try {
    const dash = port.indexOf('-');
    const a = dash < 0 ? port : port.slice(0, dash);
    const b = dash < 0 ? a : port.slice(dash + 1);
    lo = num(a);
    hi = b === a ? lo : num(b);
    if (hi < lo) throw new Error();
  } catch {
    return fail(`invalid containerPort: ${port}`);
  }
  const out: string[] = [];
  for (let p = lo; p <= hi; p++) out.push(`${p}/${(proto || 'tcp').toLowerCase()}`);
  return out;
}

export async function dispatch(run: BuildRun, stage: Stage, s: StageState, ins: Instruction): Promise<StepResult> {
  const esc = run.df.escape;
  const lookup = lookupIn(s);
  const config: BuildConfig = structuredClone(s.config);
  const word = (w: string): string => expandWord(w, lookup, esc);
  const noFlags = (): void => checkFlags(ins, {}, run.file);
  const meta = (createdBy: string, extra: Partial<StepResult> = {}): StepResult => ({ keyParts: [createdBy], config, createdBy, comment: COMMENT, ...extra });
  switch (ins.cmd) {
    case 'env': {
      noFlags();
      const pairs = parseKeyValues(ins.rest, lookup, esc, 'ENV');
      const vars = new Map(s.vars);
      for (const [k, v] of pairs) {
        setEnv(config, k, v);
        vars.set(k, v);
      }
      return meta(`ENV ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`, { state: { vars } });
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
      const vars = new Map(s.vars);
      const order = [...s.argOrder];
      const shown: string[] = [];
      const keyParts: string[] = ['ARG'];
      const raw = splitRaw(ins.rest, esc);
      if (raw.length === 0) fail('ARG requires at least one argument');
      for (const w of raw) {
        const eq = w.indexOf('=');
        const name = eq < 0 ? w : w.slice(0, eq);
        if (name === '') fail('ARG names can not be blank');
        run.usedArgs.add(name);
        // BuildKit's order: a --build-arg, else the default (expanded with the variables so far),
        // else (no default) the value of the global ARG of that name.
        let value: string | undefined;
        if (Object.hasOwn(run.buildArgs, name)) value = run.buildArgs[name];
        else if (eq >= 0) value = expandWord(w.slice(eq + 1), (n) => vars.get(n), esc);
        else value = run.metaValues.get(name);
        args.set(name, value);
        if (value !== undefined) vars.set(name, value);
        if (!order.includes(name)) order.push(name);
        shown.push(value !== undefined ? `${name}=${value}` : name);
        keyParts.push(eq >= 0 ? `${name}=${w.slice(eq + 1)}` : name);
      }
      // The value is not part of this step's key: a changed build arg misses where it is used.
      return { keyParts, config, createdBy: `ARG ${shown.join(' ')}`, comment: COMMENT, state: { args, vars, argOrder: order } };
    }
    case 'workdir': {
      noFlags();
      const dir = workdirPath(config.WorkingDir, word(ins.rest));
      config.WorkingDir = dir;
      return {
        keyParts: [`WORKDIR ${dir}`, config.User ?? ''], config, createdBy: `WORKDIR ${dir}`, comment: COMMENT,
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
      config.User = word(ins.rest);
      return meta(`USER ${config.User}`);
    }
    case 'cmd':
    case 'entrypoint': {
      noFlags();
      const argv = ins.json ?? shellArgs(config, ins.rest);
      const name = ins.cmd.toUpperCase();
      if (ins.cmd === 'cmd') {
        config.Cmd = argv;
        config.ArgsEscaped = true;
      } else {
        // `ENTRYPOINT []` clears it.
        if (argv.length === 0) delete config.Entrypoint;
        else config.Entrypoint = argv;
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
      // BuildKit sorts the words as written, then expands each (a value may hold several ports).
      const raw = splitWhitespace(ins.rest).sort();
      if (raw.length === 0) fail('EXPOSE requires at least one argument');
      const ports = raw.flatMap((w) => expandWords(w, lookup, esc)).flatMap(exposePort);
      config.ExposedPorts = { ...(config.ExposedPorts ?? {}) };
      for (const p of ports) config.ExposedPorts[p] = {};
      return meta(`EXPOSE ${goList(ports)}`);
    }
    case 'volume': {
      noFlags();
      const raw = ins.json ?? splitWhitespace(ins.rest);
      if (raw.length === 0) fail('VOLUME requires at least one argument');
      const vols = raw.map((v) => {
        if (v.trim() === '') fail('VOLUME specified can not be an empty string');
        const x = word(v.trim());
        if (x === '') fail('VOLUME specified can not be an empty string');
        return x;
      });
      config.Volumes = { ...(config.Volumes ?? {}) };
      for (const v of vols) config.Volumes[v] = {};
      return meta(`VOLUME ${goList(vols)}`);
    }
    case 'stopsignal': {
      noFlags();
      const sig = word(ins.rest);
      parseSignal(sig);
      config.StopSignal = sig;
      return meta(`STOPSIGNAL ${sig}`);
    }
    case 'healthcheck': {
      const m = /^(\S+)\s*([\s\S]*)$/.exec(ins.rest);
      const typ = (m?.[1] ?? '').toUpperCase();
      const after = m?.[2] ?? '';
      if (!m) fail('HEALTHCHECK requires at least one argument');
      if (typ === 'NONE') {
        // BuildKit reads no flags for NONE.
        if (after.trim() !== '') fail('HEALTHCHECK NONE takes no arguments');
        config.Healthcheck = { Test: ['NONE'] };
      } else {
        checkFlags(ins, { interval: 'string', timeout: 'string', 'start-period': 'string', 'start-interval': 'string', retries: 'string' }, run.file);
        if (typ !== 'CMD') fail(`Unknown type ${JSON.stringify(typ)} in HEALTHCHECK (try CMD)`);
        let json: string[] | undefined;
        try {
          json = parseJsonArray(after);
        } catch (err) {
          fail((err as Error).message);
        }
        const cmd = json ?? (after.trim() ? [after.trim()] : []);
        if (cmd.length === 0) fail('Missing command after HEALTHCHECK CMD');
        const hc: NonNullable<BuildConfig['Healthcheck']> = { Test: [json ? 'CMD' : 'CMD-SHELL', ...cmd] };
        for (const [flag, field] of [['interval', 'Interval'], ['timeout', 'Timeout'], ['start-period', 'StartPeriod'], ['start-interval', 'StartInterval']] as const) {
          const d = healthInterval(ins, flag);
          if (d !== undefined) hc[field] = d;
        }
        const r = flagValue(ins, 'retries');
        if (r !== undefined && r !== '') {
          if (!/^[+-]?\d+$/.test(r) || Math.abs(Number(r)) > 2 ** 31 - 1) fail(`strconv.ParseInt: parsing ${JSON.stringify(r)}: ${/^[+-]?\d+$/.test(r) ? 'value out of range' : 'invalid syntax'}`);
          if (Number(r) < 0) fail(`--retries cannot be negative (${Number(r)})`);
          if (Number(r) > 0) hc.Retries = Number(r);
        }
        config.Healthcheck = hc;
      }
      return meta(`HEALTHCHECK ${goHealthcheck(config.Healthcheck)}`);
    }
    case 'onbuild': {
      const trigger = ins.rest.trim();
      const t = trigger.split(/\s+/)[0]?.toUpperCase() ?? '';
      if (!trigger) fail('ONBUILD requires at least one argument');
      if (t === 'ONBUILD') fail('Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
      if (t === 'FROM' || t === 'MAINTAINER') fail(`${t} isn't allowed as an ONBUILD trigger`);
      // The trigger as written (heredoc bodies appended), to be parsed again in the child build.
      let expr = ins.original.replace(/^\s*ONBUILD\s*/i, '');
      for (const h of ins.heredocs) expr += `\n${h.content}${h.name}`;
      config.OnBuild = [...(config.OnBuild ?? []), expr];
      // BuildKit writes no history entry for ONBUILD.
      return meta(`ONBUILD ${expr}`, { noHistory: true });
    }
    case 'run':
      return runStepOf(run, stage, s, ins, config);
    case 'copy':
    case 'add':
      return copyStepOf(run, stage, s, ins, config);
  }
  fail(`unknown instruction: ${ins.cmd}`);
}
