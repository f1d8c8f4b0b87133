/**
 * A distro-sized image (issue 15), test/fixtures/make-debian-image.sh: Debian bookworm i386,
 * 190 MB unpacked, beside skiff/busybox in the same run.
 * - mem.image_growth_mb: peak RSS of a `skiff run --rm IMAGE true` process for the Debian image
 *   minus the same for skiff/busybox (median of 3 each, alternating). File bytes are read on demand
 *   through a bounded chunk cache, so this stays near the metadata of the tree (9411 entries).
 * - run.big_image_ms: Engine.runContainer of `true` in the Debian image, VM up and warm, median of
 *   RUNS, measured alternately with busybox (run.warm_ms's workload) in one engine; the note has both.
 * Skipped (no metrics) when the fixture is not built and cannot be built here.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Metric } from './run.ts';
import { loadNote, median, quiet, withSkiffHome } from './util.ts';
import { openEngine } from '../src/node.ts';
import { BIG_IMAGE, bigImagePath, importBigImage } from '../test/helpers/big-image.ts';

const RUNS = Number(process.env.SKIFF_BENCH_RUNS ?? 10);
const BIN = fileURLToPath(new URL('../bin/skiff.js', import.meta.url));
/** Prints the process's peak RSS (KiB) to stderr as it exits, whatever ends it. */
// VmHWM, not getrusage's maxRSS: that keeps the bench process's own RSS across fork + exec (util.ts peakRssMb).
const PEAK_RSS_HOOK = 'data:text/javascript,import{writeSync,readFileSync}from"node:fs";process.on("exit",()=>{let k=process.resourceUsage().maxRSS;try{k=Number(/VmHWM:\\s+(\\d+)/.exec(readFileSync("/proc/self/status","utf8"))[1])}catch{}writeSync(2,`\\nmaxrss_kib ${k}\\n`)})';

export async function run(): Promise<Record<string, Metric>> {
  if (!bigImagePath()) {
    process.stderr.write('  big-image: fixture missing and not buildable here (mmdebstrap, Debian mirror): skipped\n');
    return {};
  }
  return withSkiffHome('skiff-bench-big-', async (home) => {
    const engine = await openEngine({ home });
    const runs: Record<'busybox' | 'debian', number[]> = { busybox: [], debian: [] };
    const images = { busybox: 'skiff/busybox', debian: BIG_IMAGE } as const;
    try {
      await importBigImage(engine);
      // First runs: bundled image load, VM boot and snapshot, the Debian layer's data (copy + index).
      const t0 = performance.now();
      await engine.runContainer({ image: BIG_IMAGE, cmd: ['true'], run: { rm: true }, io: quiet });
      const firstBig = performance.now() - t0;
      for (let i = 0; i < 3; i++) await engine.runContainer({ image: 'skiff/busybox', cmd: ['true'], run: { rm: true }, io: quiet });
      for (let i = 0; i < RUNS; i++) {
        for (const which of ['busybox', 'debian'] as const) {
          const t = performance.now();
          const r = await engine.runContainer({ image: images[which], cmd: ['true'], run: { rm: true }, io: quiet });
          runs[which].push(performance.now() - t);
          if (r.exit.exitCode !== 0) throw new Error(`run ${which} true exited ${r.exit.exitCode}`);
        }
      }
      const warmNote = loadNote();
      await engine.shutdown();

      const rss: Record<'busybox' | 'debian', number[]> = { busybox: [], debian: [] };
      for (let i = 0; i < 3; i++) for (const which of ['busybox', 'debian'] as const) rss[which].push(peakRss(home, images[which]));
      const r = (x: number) => Math.round(x);
      const growth = median(rss.debian) - median(rss.busybox);
      return {
        'mem.image_growth_mb': {
          value: r(growth), unit: 'MB',
          note: `peak RSS of \`skiff run --rm IMAGE true\` processes: Debian bookworm i386 (190 MB unpacked) ${rss.debian.map(r).join(', ')} MB minus skiff/busybox ${rss.busybox.map(r).join(', ')} MB, medians of 3; ${loadNote()}. Before layers were read on demand (issue 15): busybox ~490 MB, Debian ~665 MB, growth ~170 MB`,
        },
        'run.big_image_ms': {
          value: r(median(runs.debian)), unit: 'ms',
          note: `Engine.runContainer ${BIG_IMAGE} true --rm, VM up and warm, median of ${RUNS} (${runs.debian.map(r).join(', ')}); skiff/busybox alternating in the same engine (run.warm_ms's workload): median ${r(median(runs.busybox))} ms (${runs.busybox.map(r).join(', ')}); first Debian run (VM boot + making the layer's data) ${r(firstBig)} ms; ${warmNote}`,
        },
      };
    } finally {
      await engine.shutdown().catch(() => {});
    }
  });
}

function peakRss(home: string, image: string): number {
  const p = spawnSync(process.execPath, ['--import', PEAK_RSS_HOOK, BIN, 'run', '--rm', image, 'true'], {
    env: { ...process.env, SKIFF_HOME: home }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  const m = /maxrss_kib (\d+)/.exec(p.stderr.toString());
  if (p.status !== 0 || !m) throw new Error(`skiff run --rm ${image} true: exit ${p.status}: ${p.stderr.toString().slice(-500)}`);
  return Number(m[1]) / 1024;
}
