/**
 * `skiff run` end to end (issue 4):
 * - run.warm_ms: Engine.runContainer of `skiff/busybox true` with --rm, the VM already up, median
 *   of RUNS. Everything a run does: record, overlay, 9P exports, crun create + start in the guest,
 *   exit, writable layer and logs saved, record removed.
 * - run.cold_ms: a new `skiff run --rm skiff/busybox true` process over a $SKIFF_HOME that holds
 *   the image and the VM snapshot, wall clock from spawn to exit, median of 3; the compiled CLI
 *   (built first, as `npm install` does), beside the same runs from the sources through tsx.
 * - exec.ms: Engine.execContainer of `true` into a running container, median of RUNS.
 * - run.guest_minstr, exec.guest_minstr: the guest instructions (millions) each of those cost,
 *   median: the guest's work, which the machine's load does not change (the wall times above it
 *   does, 5-10x at a load of 20).
 * The note carries the load average: the emulator runs at whatever CPU other processes leave.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Metric } from './run.ts';
import { loadNote, median, quiet, withSkiffHome } from './util.ts';
import { nodeRuntimes, nodeVmRuntime, openEngine } from '../src/node.ts';
// @ts-expect-error: plain JavaScript without declarations
import { buildNode } from '../scripts/build-node.mjs';

const RUNS = Number(process.env.SKIFF_BENCH_RUNS ?? 10);
const BIN = fileURLToPath(new URL('../bin/skiff.js', import.meta.url));

export async function run(): Promise<Record<string, Metric>> {
  // The VM snapshot goes under $SKIFF_HOME too, where the `skiff run` processes below find it.
  return withSkiffHome('skiff-bench-run-', async (home) => {
    const vm = await nodeVmRuntime();
    const engine = await openEngine({ home, runtimes: { ...nodeRuntimes, vm: () => vm } });
    const count = async () => (await vm.machine()).instructions();
    // v86's counter is 32 bits: a difference is taken modulo 2^32.
    const mInstr = (a: number, b: number) => ((b - a) >>> 0) / 1e6;
    try {
      // First run: loads the bundled image, boots (and snapshots) the VM.
      await engine.runContainer({ image: 'skiff/busybox', cmd: ['true'], run: { rm: true }, io: quiet });
      // v86 compiles guest code as it runs: crun's first runs after a boot are 2-4x slower. The
      // metric is the steady state; the warm-up runs are in the note.
      const first: number[] = [];
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        await engine.runContainer({ image: 'skiff/busybox', cmd: ['true'], run: { rm: true }, io: quiet });
        first.push(performance.now() - t0);
      }
      const warm: number[] = [];
      const warmInstr: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const i0 = await count();
        const t0 = performance.now();
        const r = await engine.runContainer({ image: 'skiff/busybox', cmd: ['true'], run: { rm: true }, io: quiet });
        warm.push(performance.now() - t0);
        warmInstr.push(mInstr(i0, await count()));
        if (r.exit.exitCode !== 0) throw new Error(`run true exited ${r.exit.exitCode}`);
      }
      const warmNote = loadNote();
      const c = await engine.createContainer({ image: 'skiff/busybox', cmd: ['sleep', '1000'] });
      await engine.startContainer({ id: c.id, io: quiet });
      // The runs above leave background work in the guest: their containers' crun delete (1 s
      // after each exit) and the pool's refill (a crun run, 1.5 s after this start claimed the
      // pooled container). An exec typed at a prompt does not meet them; measured right away,
      // they landed in a few execs (12 M guest instructions instead of ~5 M). Let them finish.
      await new Promise((r) => setTimeout(r, 4000));
      const execs: number[] = [];
      const execInstr: number[] = [];
      for (let i = 0; i < RUNS + 3; i++) {
        const i0 = await count();
        const t0 = performance.now();
        const p = await engine.execContainer({ id: c.id, cmd: ['true'], io: quiet });
        const s = await p.wait();
        if (i >= 3) execs.push(performance.now() - t0);
        if (i >= 3) execInstr.push(mInstr(i0, await count()));
        if (s.exitCode !== 0) throw new Error(`exec true exited ${s.exitCode}`);
      }
      await engine.killContainer({ id: c.id });
      await engine.waitContainer({ id: c.id });
      await engine.shutdown();

      await buildNode();
      const cold: number[] = [];
      const coldSources: number[] = [];
      const coldCrun: number[] = [];
      for (let i = 0; i < 3; i++) {
        // The last: the compiled CLI again, with the container pool unused (crun's create + start after the restore).
        for (const [fromSources, into, pool] of [['0', cold, '1'], ['1', coldSources, '1'], ['0', coldCrun, '0']] as const) {
          const t0 = performance.now();
          execFileSync(process.execPath, [BIN, 'run', '--rm', 'skiff/busybox', 'true'], { env: { ...process.env, SKIFF_HOME: home, SKIFF_FROM_SOURCES: fromSources, SKIFF_VM_POOL: pool }, stdio: 'ignore' });
          into.push(performance.now() - t0);
        }
      }
      const r = (x: number) => Math.round(x);
      return {
        'run.warm_ms': {
          value: r(median(warm)), unit: 'ms',
          note: `Engine.runContainer busybox true --rm, VM up and warm, median of ${RUNS} (${warm.map(r).join(', ')}; the 3 runs before: ${first.map(r).join(', ')}); ${warmNote}. Bound by guest CPU on one emulated core: one crun run --detach (create ~150 ms: namespaces, ~20 mounts, cgroup, seccomp; start ~70 ms), the process ~35 ms (measured at load 3); crun delete runs after, in the background. Under load, and until v86 has compiled crun's code, 2-10x that`,
        },
        'run.cold_ms': {
          value: r(median(cold)), unit: 'ms', baseline: r(median(coldSources)),
          note: `new process: skiff run --rm skiff/busybox true from a stored snapshot, spawn to exit, median of 3 (${cold.map(r).join(', ')}); baseline: the same from the sources through tsx (${coldSources.map(r).join(', ')}); ${loadNote()}. Phases: Node start, snapshot gunzip + restore (vm.restore_ms), then the container: claimed from the pool the snapshot holds (runtime/vm/pool.ts: crun's create + start was done before the snapshot), the process, its exit. With the pool unused (SKIFF_VM_POOL=0: crun create + start right after the restore, which v86 interprets until it has compiled crun's code again): ${coldCrun.map(r).join(', ')} (median ${r(median(coldCrun))})`,
        },
        'run.guest_minstr': {
          value: Math.round(median(warmInstr) * 10) / 10, unit: 'M instructions',
          note: `guest instructions per run.warm_ms run (v86's counter), median of ${RUNS} (${warmInstr.map((x) => x.toFixed(1)).join(', ')}): crun run (or a claim of the pooled container, runtime/vm/pool.ts: ~5 M in all for such a run), the process, its exit, net setup/teardown, and on average one earlier container's crun delete (they run 1 s after an exit); the pool's refill (a crun run, 1.5 s after a claim) falls in a later run's window. Before issue 13's agent work: crun run alone 22-24 M, crun delete 9.3 M`,
        },
        'exec.guest_minstr': {
          value: Math.round(median(execInstr) * 10) / 10, unit: 'M instructions',
          note: `guest instructions per exec.ms exec, median of ${RUNS} (${execInstr.map((x) => x.toFixed(1)).join(', ')}). Before issue 13's agent work: crun exec alone 12.9 M`,
        },
        'exec.ms': {
          value: r(median(execs)), unit: 'ms',
          note: `Engine.execContainer true, median of ${RUNS} after 3 warm-up execs (${execs.map(r).join(', ')}); bound by crun exec (setns into 6 namespaces, seccomp) on the emulated CPU`,
        },
      };
    } finally {
      await engine.shutdown().catch(() => {});
    }
  });
}
