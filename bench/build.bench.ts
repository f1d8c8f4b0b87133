/**
 * `skiff build` (issue 11), on one engine with the VM already up:
 * - build.cold_ms: a 10-step Dockerfile (3 RUN, 2 COPY, WORKDIR and metadata) built with
 *   --no-cache, median of 3.
 * - build.cached_ms: the same build fully cached (every step CACHED, the same image ID), median of
 *   RUNS. Target: under 150 ms.
 * - build.run_step_overhead_ms: `FROM skiff/busybox` + `RUN ["true"]` built --no-cache, minus a
 *   plain Engine.runContainer of `true` (--rm), medians of 7 taken alternately. Target: under 100 ms.
 */
import type { Metric } from './run.ts';
import { loadNote, median, quiet, withSkiffHome } from './util.ts';
import { openEngine } from '../src/node.ts';

const RUNS = Number(process.env.SKIFF_BENCH_RUNS ?? 10);

const TEN = {
  Dockerfile: [
    'FROM skiff/busybox', 'ARG V=1', 'ENV APP=/app', 'WORKDIR /app', 'COPY a.txt .', 'RUN cat a.txt > b.txt',
    'COPY lib/ ./lib/', 'RUN ls lib > list.txt', 'RUN echo $V > v.txt', 'LABEL bench=1', 'CMD ["cat", "b.txt"]',
  ].join('\n'),
  'a.txt': 'a\n', 'lib/one.js': 'x'.repeat(4096), 'lib/two.js': 'y'.repeat(4096),
};

export async function run(): Promise<Record<string, Metric>> {
  return withSkiffHome('skiff-bench-build-', async (home) => {
    const engine = await openEngine({ home });
    try {
      // Boot the VM and load the image first: the metrics are the build's own cost.
      for (let i = 0; i < 3; i++) await engine.runContainer({ image: 'skiff/busybox', cmd: ['true'], run: { rm: true }, io: quiet });
      const cold: number[] = [];
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        await engine.build({ context: TEN, noCache: true, tags: ['bench:ten'] });
        cold.push(performance.now() - t0);
      }
      const coldNote = loadNote();
      const first = await engine.build({ context: TEN, tags: ['bench:ten'] });
      const cached: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const t0 = performance.now();
        const r = await engine.build({ context: TEN, tags: ['bench:ten'] });
        cached.push(performance.now() - t0);
        if (!r.steps.every((s) => s.cached) || r.id !== first.id) throw new Error('the cached rebuild was not all cache');
      }
      const step: number[] = [];
      const plain: number[] = [];
      for (let i = 0; i < 7; i++) {
        let t0 = performance.now();
        await engine.runContainer({ image: 'skiff/busybox', cmd: ['true'], run: { rm: true }, io: quiet });
        plain.push(performance.now() - t0);
        t0 = performance.now();
        // Exec form: the same process as the plain run (the shell form adds a guest `sh`).
        await engine.build({ context: { Dockerfile: 'FROM skiff/busybox\nRUN ["true"]\n' }, noCache: true });
        step.push(performance.now() - t0);
      }
      await engine.shutdown();
      const r = (x: number) => Math.round(x);
      return {
        'build.cold_ms': { value: r(median(cold)), unit: 'ms', note: `10 steps (3 RUN in the VM), --no-cache, median of 3 (${cold.map(r).join(', ')}); ${coldNote}` },
        'build.cached_ms': { value: r(median(cached)), unit: 'ms', note: `the same build all CACHED, same image ID, median of ${RUNS} (${cached.map(r).join(', ')}); target < 150 ms` },
        'build.run_step_overhead_ms': {
          value: r(median(step) - median(plain)), unit: 'ms', baseline: r(median(plain)),
          note: `FROM skiff/busybox + RUN ["true"] --no-cache (${step.map(r).join(', ')}) minus run --rm busybox true (${plain.map(r).join(', ')}); target < 100 ms; ${loadNote()}`,
        },
      };
    } finally {
      await engine.shutdown().catch(() => {});
    }
  });
}
