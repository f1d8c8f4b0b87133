/**
 * The filesystem steps: RUN (its argv from the shell or exec form and heredocs, its mounts, the
 * container it runs in) and COPY/ADD (sources, destination, owner and mode), each with its cache
 * key parts and BuildKit's history line.
 */
import { SkiffError } from '../errors.ts';
import { Overlay } from '../fs/overlay.ts';
import { expandWord, splitWhitespace } from './expand.ts';
import { chompHeredoc, parseHeredocWord, type Instruction } from './parser.ts';
import { COMMENT, fail, overlayDiff, shellArgs, stepOverlay, workdirPath, type BuildRun, type StepMount, type StepResult } from './build-run.ts';
import { cacheVolumeName, parseRunMount } from './run-mounts.ts';
import { applyCopy, contextSources, excludeSources, fsSources, parseChmod, resolveChown, sourcesChecksum, urlSource, type ChmodSpec, type Source } from './copy.ts';
import { contextParentsSources, fsParentsSources } from './copy-parents.ts';
import { findStage, checkFlags, flagBool, flagValue, flagValues, type Stage } from './stages.ts';
import { argPrefix, lookupIn, runEnv, type BuildConfig, type StageState } from './state.ts';
import { retryAfterIO } from '../fs/pending-io.ts';
import { materializeTree } from '../fs/tree.ts';
import type { StartSecrets } from '../runtime/secrets.ts';

async function runMounts(run: BuildRun, stage: Stage, s: StageState, ins: Instruction, config: BuildConfig): Promise<{ mounts: StepMount[]; key: string[]; secrets: Required<StartSecrets> }> {
  const mounts: StepMount[] = [];
  const key: string[] = [];
  // BuildKit gives secrets to the process only: never in the step's container record, a layer,
  // its history or the cache key (their values do not make a cache miss).
  const secrets: Required<StartSecrets> = { env: {}, files: [] };
  const lookup = lookupIn(s);
  for (const f of ins.flags) {
    if (!f.startsWith('--mount=')) continue;
    const raw = f.slice('--mount='.length);
    if (/(^|,)from=[^,]*\$[^,]/i.test(raw)) fail("'from' doesn't support variable expansion, define alias stage instead");
    const m = parseRunMount(expandWord(raw, lookup, run.df.escape));
    if (m.type === 'secret') {
      const id = m.id || m.source || m.target.split('/').filter(Boolean).at(-1) || m.env || '';
      const value = run.opts.secrets && Object.hasOwn(run.opts.secrets, id) ? run.opts.secrets[id] : undefined;
      // BuildKit leaves a secret that was not given out, unless it is required.
      if (value === undefined) {
        if (m.required) throw new SkiffError('NOT_FOUND', `secret ${id}: not found`);
        continue;
      }
      const data = typeof value === 'string' ? new TextEncoder().encode(value) : value;
      if (m.env) secrets.env[m.env] = new TextDecoder().decode(data);
      if (!m.env || m.target) {
        secrets.files.push({ path: workdirPath(config.WorkingDir, m.target || `/run/secrets/${id}`), data, mode: m.mode ?? 0o400, uid: m.uid ?? 0, gid: m.gid ?? 0 });
      }
      continue;
    }
    // BuildKit joins the target to the working directory (an empty one is the directory itself).
    const target = workdirPath(config.WorkingDir, m.target);
    if (target === '/') fail('invalid mount target "/"');
    if (m.type === 'tmpfs') mounts.push({ kind: 'tmpfs', target });
    else if (m.type === 'cache') mounts.push({ kind: 'cache', volume: cacheVolumeName(m.id!), target, readOnly: m.readOnly });
    else {
      let sources: Source[];
      let from = 'context';
      if (m.from !== undefined) {
        const st = findStage(run.stages, m.from, stage.index);
        const layers = st ? (await run.buildStage(st)).layers : (await run.host.resolveImage(m.from)).layers;
        from = st ? `stage:${(await run.buildStage(st)).key}` : `image:${m.from}`;
        const stageFs = new Overlay({ lower: await run.host.tree(layers), readOnly: true });
        sources = await retryAfterIO(() => fsSources(stageFs, [m.source!], m.from!));
      } else sources = contextSources(run.context, [m.source!], { add: false });
      const file = sources.length === 1 && !sources[0]!.isDir ? sources[0]!.items[0]!.item : undefined;
      if (file) mounts.push({ kind: 'file', target, data: file.data ?? new Uint8Array(0), mode: file.mode });
      else mounts.push({ kind: 'bind', target, sources });
      key.push(`bind ${from} ${target} ${sourcesChecksum(sources)}`);
      continue;
    }
    key.push(`${m.type} ${target}`);
  }
  return { mounts, key, secrets };
}

export async function runStepOf(run: BuildRun, stage: Stage, s: StageState, ins: Instruction, config: BuildConfig): Promise<StepResult> {
  checkFlags(ins, { network: 'string', security: 'string', mount: 'strings' }, run.file);
  const network = flagValue(ins, 'network');
  if (network !== undefined && !['default', 'none', 'host'].includes(network)) fail(`invalid network mode "${network}"`);
  const security = flagValue(ins, 'security');
  if (security !== undefined && !['sandbox', 'insecure'].includes(security)) fail(`security "${security}" is not valid`);
  const { mounts, key: mountKey, secrets } = await runMounts(run, stage, s, ins, config);
  let argv: string[];
  const h = ins.heredocs;
  const lone = h.length > 0 && !ins.json ? parseHeredocWord(ins.rest) : undefined;
  const extraKey: string[] = [];
  if (lone) {
    // A lone heredoc is the script itself, given to the shell as written (the shell expands it,
    // not the builder); one starting with `#!` is run as a file, as BuildKit does.
    const data = h[0]!.chomp ? chompHeredoc(h[0]!.content) : h[0]!.content;
    if (data.startsWith('#!') && s.base.os !== 'windows') {
      const name = h[0]!.name;
      mounts.push({
        kind: 'bind', target: '/dev/pipes',
        sources: [{ name, base: name, isDir: true, items: [{ rel: '', item: { kind: 'directory', mode: 0o755 } }, { rel: name, item: { kind: 'file', mode: 0o755, data: new TextEncoder().encode(data) } }] }],
      });
      extraKey.push(`heredoc ${name} ${data}`);
      argv = shellArgs(config, `/dev/pipes/${name}`);
    } else argv = shellArgs(config, data);
  } else if (ins.json) argv = ins.json;
  else {
    // Heredocs after a command go to the shell as written: it reads them itself.
    argv = shellArgs(config, h.length ? `${ins.rest}${h.map((x) => `\n${x.content}${x.name}`).join('')}` : ins.rest);
  }
  const env = runEnv(s);
  // Docker's predefined proxy args reach RUN without an ARG line, and stay out of history and the cache key.
  // BuildKit matches the names case-insensitively and sets both spellings (HTTP_PROXY and http_proxy).
  const proxy: string[] = [];
  for (const name of ['HTTP_PROXY', 'HTTPS_PROXY', 'FTP_PROXY', 'NO_PROXY', 'ALL_PROXY']) {
    const key = Object.keys(run.buildArgs).sort().filter((k) => k.toUpperCase() === name).at(-1);
    if (key === undefined) continue;
    for (const n of [name, name.toLowerCase()]) if (!s.vars.has(n)) proxy.push(`${n}=${run.buildArgs[key]}`);
  }
  const prefix = argPrefix(s);
  const createdBy = `RUN ${prefix}${argv.join(' ')} # buildkit`;
  const platform = [s.base.os, s.base.architecture].join('/');
  return {
    keyParts: ['RUN', prefix, JSON.stringify(argv), JSON.stringify(env), config.WorkingDir ?? '', config.User ?? '', ...mountKey, ...extraKey], config, createdBy, comment: COMMENT,
    apply: async (v) => {
      if (s.base.os !== 'linux' || !['386', 'i386'].includes(s.base.architecture)) {
        throw new SkiffError('UNSUPPORTED', `RUN cannot run on a ${platform} base: skiff runs build commands in its linux/386 VM only (a wasm image has no shell; build its files elsewhere and COPY them in)`);
      }
      if (s.layers.length === 0) throw new SkiffError('UNSUPPORTED', `RUN in a stage FROM scratch: the stage has no files yet, so there is no ${argv[0]} to run`);
      const r = await run.host.runStep({
        layers: s.layers, config: { ...s.base, config, rootfs: { type: 'layers', diff_ids: s.layers.map((l) => l.diffId) }, history: s.history },
        args: argv, env: [...env, ...proxy], ...(mounts.length ? { mounts } : {}),
        ...(Object.keys(secrets.env).length || secrets.files.length ? { secrets } : {}), ...(config.WorkingDir ? { workdir: config.WorkingDir } : {}), ...(config.User ? { user: config.User } : {}),
        onOutput: (t) => v?.output(t),
      });
      if (r.exitCode !== 0) throw new SkiffError('RUNTIME', `process "${argv.join(' ')}" did not complete successfully: exit code: ${r.exitCode}`);
      return r.diff;
    },
  };
}

const URL_SOURCE = /^https?:\/\//;
/** What BuildKit takes for a Git source: git@host:path, git:// and ssh:// URLs, http(s) URLs of a `.git` path (with a `#ref`). */
const GIT_SOURCE = /^(?:git@[^:]+:|git:\/\/|ssh:\/\/|https?:\/\/[^#?]+\.git(?:[#?].*)?$)/;

export async function copyStepOf(run: BuildRun, stage: Stage, s: StageState, ins: Instruction, config: BuildConfig): Promise<StepResult> {
  const add = ins.cmd === 'add';
  checkFlags(ins, add
    ? { chown: 'string', chmod: 'string', link: 'bool', 'keep-git-dir': 'bool', checksum: 'string', unpack: 'bool', exclude: 'strings' }
    : { from: 'string', chown: 'string', chmod: 'string', link: 'bool', parents: 'bool', exclude: 'strings' }, run.file);
  const name = ins.cmd.toUpperCase();
  const parents = flagBool(ins, 'parents') ?? false;
  const lookup = lookupIn(s);
  const esc = run.df.escape;
  const args = ins.json ?? splitWhitespace(ins.rest);
  if (args.length < 2) fail(`${name} requires at least two arguments, but only one was provided. Destination could not be determined`);
  if (parseHeredocWord(args.at(-1)!)) fail(`${name} cannot accept a heredoc as a destination`);
  const heredocs = new Map(ins.heredocs.map((h) => [h.name, h]));
  const heredocSources: Source[] = [];
  const heredocNames: string[] = [];
  const plain: string[] = [];
  for (const a of args.slice(0, -1)) {
    const hw = ins.json ? undefined : parseHeredocWord(a);
    if (hw) {
      const h = heredocs.get(hw.name);
      let content = h?.content ?? '';
      if (hw.chomp) content = chompHeredoc(content);
      // BuildKit expands an unquoted heredoc body with quotes left alone and `\` as the escape.
      if (hw.expand) content = expandWord(content, lookup, '\\', { skipQuotes: true });
      heredocNames.push(hw.name);
      heredocSources.push({ name: hw.name, base: hw.name.split('/').at(-1)!, isDir: false, items: [{ rel: '', item: { kind: 'file', mode: 0o644, data: new TextEncoder().encode(content) } }] });
    } else plain.push(expandWord(a, lookup, esc));
  }
  const destRaw = expandWord(args.at(-1)!, lookup, esc);
  const chownFlag = flagValue(ins, 'chown') ? expandWord(flagValue(ins, 'chown')!, lookup, esc) : undefined;
  const chmodFlag = flagValue(ins, 'chmod') ? expandWord(flagValue(ins, 'chmod')!, lookup, esc) : undefined;
  const checksum = flagValue(ins, 'checksum') ? expandWord(flagValue(ins, 'checksum')!, lookup, esc) : undefined;
  const excludes = flagValues(ins, 'exclude');
  let chmod: ChmodSpec | undefined;
  if (chmodFlag !== undefined) chmod = parseChmod(chmodFlag);
  if (checksum) {
    if (plain.length !== 1) fail("checksum can't be specified for multiple sources");
    if (!URL_SOURCE.test(plain[0]!)) fail('checksum requires HTTP(S) or Git sources');
  }
  for (const p of plain) {
    if (!GIT_SOURCE.test(p)) continue;
    if (!add) fail("source can't be a git ref for COPY");
    throw new SkiffError('UNSUPPORTED', `ADD ${p}: adding a Git repository is not supported by skiff's builder; clone it into the build context and COPY it`);
  }
  if (!add) for (const p of plain) if (URL_SOURCE.test(p)) fail("source can't be a URL for COPY");
  const fromFlag = flagValue(ins, 'from');
  let sources: Source[];
  let fromKey = 'context';
  if (fromFlag) {
    // BuildKit refuses variables in --from (the stage graph is fixed before any expansion).
    if (expandWord(fromFlag, () => undefined, esc) !== fromFlag) fail('variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround');
    const from = fromFlag;
    let st: Stage | undefined;
    if (/^\d+$/.test(from)) {
      st = run.stages[Number(from)];
      if (!st) fail(`invalid stage index ${from}`);
    } else st = run.stages.filter((x) => x.name === from.toLowerCase()).at(-1);
    if (st && st.index >= stage.index) fail(`cannot copy from stage "${from}", it needs to be defined before current stage "${stage.name ?? `stage-${stage.index}`}"`);
    let layers;
    if (st) {
      const built = await run.buildStage(st);
      layers = built.layers;
      fromKey = `stage:${built.key}`;
    } else {
      const image = await run.host.resolveImage(from);
      layers = image.layers;
      fromKey = `image:${image.id}`;
    }
    const fs = new Overlay({ lower: await run.host.tree(layers), readOnly: true });
    sources = await retryAfterIO(() => (parents ? fsParentsSources(fs, plain) : fsSources(fs, plain, from)));
  } else {
    const unpack = add ? flagBool(ins, 'unpack') ?? true : false;
    // ADD of a URL downloads it (never unpacked); the other sources come from the context, in order.
    sources = [];
    for (const p of plain) {
      if (add && URL_SOURCE.test(p)) sources.push(await urlSource(p, checksum, run.host.fetch, flagBool(ins, 'unpack') === true));
      else if (parents) sources.push(...contextParentsSources(run.context, [p]));
      else sources.push(...contextSources(run.context, [p], { add, unpack }));
    }
  }
  if (excludes.length) sources = excludeSources(sources, excludes);
  sources = [...sources, ...heredocSources];
  // Absolute, `..` resolved within the root; a trailing `/` (or `.`) still says "a directory".
  const dirLike = /(^|\/)\.?$/.test(destRaw) || destRaw === '.';
  const dest = `${workdirPath(config.WorkingDir, destRaw)}${dirLike ? '/' : ''}`.replace(/\/+$/, '/');
  // BuildKit's history line: --chown and --chmod, path sources, then heredocs, then the destination, all expanded.
  const flagsText = [parents ? ' --parents' : '', chownFlag ? ` --chown=${chownFlag}` : '', chmodFlag ? ` --chmod=${chmodFlag}` : ''].join('');
  const createdBy = `${name}${flagsText}${plain.map((p) => ` ${p}`).join('')}${heredocNames.map((h) => ` <<${h}`).join('')} ${destRaw} # buildkit`;
  return {
    keyParts: [name, fromKey, sourcesChecksum(sources), dest, chownFlag ?? '', chmodFlag ?? '', excludes.join('\n')], config, createdBy, comment: COMMENT,
    apply: async () => {
      const fs = await stepOverlay(run, s);
      const owner = chownFlag ? await retryAfterIO(() => resolveChown(fs, chownFlag)) : { uid: 0, gid: 0 };
      await applyCopy(fs, { sources, dest, owner, chown: chownFlag !== undefined, ...(chmod !== undefined ? { chmod } : {}), what: name });
      await materializeTree(fs.upperTree.root); // diffs read synchronously (image bytes from IndexedDB)
      return overlayDiff(fs);
    },
  };
}
