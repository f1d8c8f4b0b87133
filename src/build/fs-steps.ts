/**
 * The filesystem steps: RUN (its argv from the shell or exec form and heredocs, its mounts, the
 * container it runs in) and COPY/ADD (sources, destination, owner and mode), each with its cache
 * key parts and BuildKit's history line.
 */
import { SkiffError } from '../errors.ts';
import { Overlay } from '../fs/overlay.ts';
import { expandWord, splitRaw } from './expand.ts';
import type { Instruction } from './parser.ts';
import { buildStage, overlayDiff, stepOverlay, type BuildRun, type StepMount } from './builder.ts';
import { cacheVolumeName, parseRunMount } from './run-mounts.ts';
import { applyCopy, contextSources, fsSources, resolveChown, sourcesChecksum, type Source } from './copy.ts';
import { findStage, checkFlags, flagValue, type Stage } from './stages.ts';
import { argPrefix, lookupIn, runEnv, type BuildConfig, type StageState } from './state.ts';
import { COMMENT, fail, shellArgs, workdirPath, type StepResult } from './steps.ts';
import { retryAfterIO } from '../fs/pending-io.ts';
import { materializeTree } from '../fs/tree.ts';

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
        const stageFs = new Overlay({ lower: await run.host.tree(layers), readOnly: true });
        sources = await retryAfterIO(() => fsSources(stageFs, [m.source!], m.from!));
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

export async function runStepOf(run: BuildRun, stage: Stage, s: StageState, ins: Instruction, config: BuildConfig): Promise<StepResult> {
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

export async function copyStepOf(run: BuildRun, stage: Stage, s: StageState, ins: Instruction, config: BuildConfig): Promise<StepResult> {
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
    sources = await retryAfterIO(() => fsSources(fs, plain, from));
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
      const owner = chownFlag !== undefined ? await retryAfterIO(() => resolveChown(fs, expandWord(chownFlag, lookup, esc))) : { uid: 0, gid: 0 };
      await applyCopy(fs, { sources, dest, owner, chown: chownFlag !== undefined, ...(chmod !== undefined ? { chmod } : {}) });
      await materializeTree(fs.upperTree.root); // diffs read synchronously (image bytes from IndexedDB)
      return overlayDiff(fs);
    },
  };
}
