/**
 * One instruction: what it changes in the config, its cache key parts, its history line (as
 * BuildKit writes `created_by`), and for filesystem steps an `apply` that makes the layer.
 */
import { SkiffError } from '../errors.ts';
import { Overlay } from '../fs/overlay.ts';
import { expandWord, expandWords, parseKeyValues, splitRaw } from './expand.ts';
import type { Instruction } from './parser.ts';
import { buildStage, overlayDiff, stepOverlay, type BuildRun, type StepMount } from './builder.ts';
import { cacheVolumeName, parseRunMount } from './run-mounts.ts';
import { applyCopy, contextSources, fsSources, resolveChown, sourcesChecksum, type Source } from './copy.ts';
import { mkdirAll } from './fs-write.ts';
import { parseSignal } from '../runtime/spec/signals.ts';
import type { Vertex } from './progress.ts';
import { findStage, checkFlags, flagValue, type Stage } from './stages.ts';
import { argPrefix, goHealthcheck, goList, goQuoteList, goSet, lookupIn, runEnv, setEnv, type BuildConfig, type StageState } from './state.ts';

export interface StepResult {
  keyParts: string[];
  config: BuildConfig;
  createdBy: string;
  comment?: string;
  state?: Partial<StageState>;
  /** Makes the step's layer (null: nothing changed). */
  apply?: (v: Vertex | undefined) => Promise<Uint8Array | null>;
}

const COMMENT = 'buildkit.dockerfile.v0';

function fail(message: string): never {
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
function shellArgs(config: BuildConfig, cmdline: string): string[] {
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

function workdirPath(cur: string | undefined, p: string): string {
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
              owner = resolveChown(fs, config.User);
            } catch {
              owner = { uid: 0, gid: 0 };
            }
          }
          mkdirAll(fs, dir, owner);
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

async function runMounts(run: BuildRun, stage: Stage, s: StageState, ins: Instruction, config: BuildConfig): Promise<{ mounts: StepMount[]; key: string[] }> {
  const mounts: StepMount[] = [];
  const key: string[] = [];
  const lookup = lookupIn(s);
  for (const f of ins.flags) {
    if (!f.startsWith('--mount=')) continue;
    const m = parseRunMount(expandWord(f.slice('--mount='.length), lookup, run.df.escape));
    const target = workdirPath(config.WorkingDir, m.target);
    if (m.type === 'tmpfs') mounts.push({ kind: 'tmpfs', target });
    else if (m.type === 'cache') mounts.push({ kind: 'cache', volume: cacheVolumeName(m.id!), target, readOnly: m.readOnly });
    else {
      let sources: Source[];
      let from = 'context';
      if (m.from !== undefined) {
        const st = findStage(run.stages, m.from, stage.index);
        const layers = st ? (await buildStage(run, st)).layers : (await run.host.resolveImage(m.from)).layers;
        from = st ? `stage:${(await buildStage(run, st)).key}` : `image:${m.from}`;
        sources = fsSources(new Overlay({ lower: await run.host.tree(layers), readOnly: true }), [m.source!], m.from);
      } else sources = contextSources(run.context, [m.source!], { add: false });
      if (!sources.every((x) => x.isDir)) throw new SkiffError('UNSUPPORTED', `RUN --mount=type=bind of the file ${m.source}: skiff binds directories only`);
      mounts.push({ kind: 'bind', target, sources });
      key.push(`bind ${from} ${target} ${sourcesChecksum(sources)}`);
      continue;
    }
    key.push(`${m.type} ${target}`);
  }
  return { mounts, key };
}

async function runStepOf(run: BuildRun, stage: Stage, s: StageState, ins: Instruction, config: BuildConfig): Promise<StepResult> {
  checkFlags(ins, ['network', 'security', 'mount'], run.file);
  const { mounts, key: mountKey } = await runMounts(run, stage, s, ins, config);
  let argv: string[];
  const h = ins.heredocs;
  if (!ins.json && h.length === 1 && /^<<-?\s*["']?\w[\w-]*["']?$/.test(ins.rest.trim())) {
    // A lone heredoc is the script itself.
    const body = h[0]!.expand ? expandWord(h[0]!.content, lookupIn(s), run.df.escape) : h[0]!.content;
    argv = shellArgs(config, body);
  } else if (ins.json) argv = ins.json;
  else {
    // Heredocs after a command go to the shell as written: it reads them itself.
    argv = shellArgs(config, h.length ? `${ins.rest}\n${h.map((x) => `${x.content}${x.name}`).join('\n')}` : ins.rest);
  }
  const env = runEnv(s);
  const prefix = argPrefix(s);
  const createdBy = `RUN ${prefix}${argv.join(' ')} # buildkit`;
  const platform = [s.base.os, s.base.architecture].join('/');
  return {
    keyParts: ['RUN', prefix, JSON.stringify(argv), JSON.stringify(config.Env ?? []), config.WorkingDir ?? '', config.User ?? '', ...mountKey], config, createdBy, comment: COMMENT,
    apply: async (v) => {
      if (s.base.os !== 'linux' || !['386', 'i386'].includes(s.base.architecture)) {
        throw new SkiffError('UNSUPPORTED', `RUN cannot run on a ${platform} base: skiff runs build commands in its linux/386 VM only (a wasm image has no shell; build its files elsewhere and COPY them in)`);
      }
      if (s.layers.length === 0) throw new SkiffError('UNSUPPORTED', `RUN in a stage FROM scratch: the stage has no files yet, so there is no ${argv[0]} to run`);
      const r = await run.host.runStep({
        layers: s.layers, config: { ...s.base, config, rootfs: { type: 'layers', diff_ids: s.layers.map((l) => l.diffId) }, history: s.history },
        args: argv, env, ...(mounts.length ? { mounts } : {}), ...(config.WorkingDir ? { workdir: config.WorkingDir } : {}), ...(config.User ? { user: config.User } : {}),
        onOutput: (t) => v?.output(t),
      });
      if (r.exitCode !== 0) throw new SkiffError('RUNTIME', `process "${argv.join(' ')}" did not complete successfully: exit code: ${r.exitCode}`);
      return r.diff;
    },
  };
}

async function copyStepOf(run: BuildRun, stage: Stage, s: StageState, ins: Instruction, config: BuildConfig): Promise<StepResult> {
  const add = ins.cmd === 'add';
  checkFlags(ins, add ? ['chown', 'chmod', 'link', 'checksum', 'keep-git-dir'] : ['from', 'chown', 'chmod', 'link', 'parents', 'exclude'], run.file);
  const name = ins.cmd.toUpperCase();
  for (const f of ['parents', 'exclude', 'keep-git-dir']) {
    if (flagValue(ins, f) !== undefined) throw new SkiffError('UNSUPPORTED', `${name} --${f} is not supported by skiff's builder yet`);
  }
  const lookup = lookupIn(s);
  const esc = run.df.escape;
  const args = ins.json ?? splitRaw(ins.rest, esc);
  if (args.length < 2) fail(`${name} requires at least two arguments, but only one was provided. Destination could not be determined.`);
  const expanded = ins.json ? args.map((a) => expandWord(a, lookup, esc)) : args.map((a) => (/^<<-?/.test(a) ? a : expandWord(a, lookup, esc)));
  const destRaw = expanded.at(-1)!;
  const srcNames = expanded.slice(0, -1);
  const fromFlag = flagValue(ins, 'from');
  const from = fromFlag !== undefined ? expandWord(fromFlag, lookup, esc) : undefined;
  let sources: Source[];
  let fromKey = 'context';
  const heredocs = new Map(ins.heredocs.map((h) => [h.name, h]));
  const heredocSources: Source[] = [];
  const plain: string[] = [];
  for (const n of srcNames) {
    const m = /^<<-?["']?([\w-]+)["']?$/.exec(n);
    const h = m ? heredocs.get(m[1]!) : undefined;
    if (h) {
      const content = h.expand ? expandWord(h.content, lookup, esc) : h.content;
      heredocSources.push({ name: h.name, base: h.name, isDir: false, items: [{ rel: '', item: { kind: 'file', mode: 0o644, data: new TextEncoder().encode(content) } }] });
    } else plain.push(n);
  }
  if (flagValue(ins, 'checksum') !== undefined) fail("checksum can't be specified for non-HTTP(S) sources");
  if (from !== undefined) {
    const st = findStage(run.stages, from, stage.index);
    let layers;
    if (st) {
      const built = await buildStage(run, st);
      layers = built.layers;
      fromKey = `stage:${built.key}`;
    } else {
      if (from === String(stage.index) || run.stages.some((x) => x.name === from.toLowerCase())) fail(`invalid --from: stage ${from} is not defined before this one`);
      const image = await run.host.resolveImage(from);
      layers = image.layers;
      fromKey = `image:${image.id}`;
    }
    const fs = new Overlay({ lower: await run.host.tree(layers), readOnly: true });
    sources = fsSources(fs, plain, from);
  } else sources = contextSources(run.context, plain, { add });
  sources = [...sources, ...heredocSources];
  const chownFlag = flagValue(ins, 'chown');
  const chmodFlag = flagValue(ins, 'chmod');
  let chmod: number | undefined;
  if (chmodFlag !== undefined) {
    if (!/^[0-7]{3,4}$/.test(chmodFlag)) fail(`invalid chmod parameter: ${chmodFlag}: it must be an octal mode such as 755`);
    chmod = parseInt(chmodFlag, 8);
  }
  // Absolute, `..` resolved within the root; a trailing `/` (or `.`) still says "a directory".
  const dirLike = /(^|\/)\.?$/.test(destRaw) || destRaw === '.';
  const dest = `${workdirPath(config.WorkingDir, destRaw)}${dirLike ? '/' : ''}`.replace(/\/+$/, '/');
  // BuildKit's message: --chown and --chmod (as written), sources and destination expanded; no --from or --link.
  const flagsText = [chownFlag !== undefined ? `--chown=${chownFlag}` : '', chmodFlag !== undefined ? `--chmod=${chmodFlag}` : ''].filter(Boolean).map((f) => `${f} `).join('');
  const createdBy = `${name} ${flagsText}${srcNames.join(' ')} ${destRaw} # buildkit`;
  return {
    keyParts: [name, fromKey, sourcesChecksum(sources), dest, chownFlag ?? '', chmodFlag ?? ''], config, createdBy, comment: COMMENT,
    apply: async () => {
      const fs = await stepOverlay(run, s);
      const owner = chownFlag !== undefined ? resolveChown(fs, expandWord(chownFlag, lookup, esc)) : { uid: 0, gid: 0 };
      await applyCopy(fs, { sources, dest, owner, chown: chownFlag !== undefined, ...(chmod !== undefined ? { chmod } : {}) });
      return overlayDiff(fs);
    },
  };
}
