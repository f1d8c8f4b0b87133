/**
 * A real distribution image past its first output (issue 13): the Debian bookworm i386 fixture
 * (test/fixtures/make-debian-image.sh, minbase + python3-minimal, 9411 entries), VM up and warm.
 * - distro.python_start_ms: `python3 -c 'import hashlib'` in a fresh container (`run --rm`), timed
 *   inside the guest (bash `time`), median of RUNS.
 * - distro.ls_usr_ms: `ls -R /usr > /dev/null` (8659 entries, 1089 directories) likewise.
 * Baseline of each: the same command on the guest's own tmpfs, no 9P at all (a --tmpfs mount in a
 *   container holding the files python loads, found with ldd, and /usr's tree with empty files; the
 *   python run under chroot), measured in the same run: the floor that guest CPU alone sets.
 * Figures are for later containers of the image (median): the first container in the VM is
 * reported apart (cold: the guest's page cache holds none of python's files yet). The note has,
 * from the same run with alternating containers, the same without image files shared between
 * containers (VmRuntime.shareImageFiles off: each container faults python into its own page
 * cache) and without the guest's cache of container roots either (guestCache off), a second run
 * in the same container, and the 9P requests per command by type, as the guest sent them.
 * Skipped (no metrics) when the fixture is not built and cannot be built here.
 */
import type { Metric } from './run.ts';
import { loadNote, median, withSkiffHome } from './util.ts';
import { nodeRuntimes, nodeVmRuntime, openEngine } from '../src/node.ts';
import { parseRunFlags } from '../src/runtime/spec/options.ts';
import type { Engine } from '../src/engine/engine.ts';
import type { VmRuntime } from '../src/runtime/vm/container-runtime.ts';
import { BIG_IMAGE, bigImagePath, importBigImage } from '../test/helpers/big-image.ts';
import { countRequests } from './p9-count.ts';

const RUNS = Number(process.env.SKIFF_BENCH_RUNS ?? 5);

const PYTHON = `python3 -c 'import hashlib'`;
const LS = 'ls -R /usr > /dev/null';
/** Prints "<label> <ms>" for `cmd` run once, timed by bash in the guest. */
const timed = (label: string, cmd: string) => `{ TIMEFORMAT='${label} %3R'; time ${cmd}; } 2>&1`;
/** The tmpfs replica: python's files (with the libraries ldd names) and /usr's tree with empty files. */
const REPLICA = [
  'set -e; cd /; mkdir -p /fast/usr/lib /fast/usr/bin; ln -s usr/lib /fast/lib; ln -s usr/bin /fast/bin',
  'libs=$(ldd /usr/bin/python3.11 /usr/lib/python3.11/lib-dynload/*.so | grep -o "/[^ ]*" | grep -v ":$" | sort -u)',
  'cp -L --parents $libs /fast/',
  'cp -a --parents /usr/bin/python3 /usr/bin/python3.11 /usr/lib/python3.11 /etc/ld.so.cache /fast/',
  'mkdir -p /fast/tree; find /usr -type d | sed "s,^,/fast/tree," | xargs mkdir -p',
  'find /usr ! -type d | sed "s,^,/fast/tree," | xargs touch',
].join('\n');

export async function run(): Promise<Record<string, Metric>> {
  if (!bigImagePath()) {
    process.stderr.write('  distro: fixture missing and not buildable here (mmdebstrap, Debian mirror): skipped\n');
    return {};
  }
  return withSkiffHome('skiff-bench-distro-', async (home) => {
    const counter = countRequests();
    let vm: VmRuntime | undefined;
    const engine = await openEngine({
      home,
      runtimes: { ...nodeRuntimes, vm: async () => (vm = counter.attach(await nodeVmRuntime())) },
    });
    try {
      await importBigImage(engine);
      // First run: VM boot or restore, the layer's data copy and index.
      await sh(engine, 'true');
      const got = {
        python: [] as number[], ls: [] as number[], pythonTmpfs: [] as number[], lsTmpfs: [] as number[],
        pythonUnshared: [] as number[], lsUnshared: [] as number[], pythonUncached: [] as number[], lsUncached: [] as number[],
      };
      const requests = { python: '', ls: '', pythonUnshared: '', lsUnshared: '', pythonUncached: '', lsUncached: '', pythonCold: '' };
      const mode = (cache: boolean, share: boolean) => { vm!.guestCache = cache; vm!.server.shareImageFiles = share; };
      // The first container of the image that runs python in this VM: nothing of it cached yet.
      counter.reset();
      const pythonCold = figure(await sh(engine, timed('python', PYTHON)), 'python');
      requests.pythonCold = counter.text();
      const modes = [['', true, true], ['Unshared', true, false], ['Uncached', false, false]] as const;
      for (let i = 0; i < RUNS; i++) {
        for (const [suffix, cache, share] of modes) {
          mode(cache, share);
          for (const [which, cmd] of [['python', PYTHON], ['ls', LS]] as const) {
            const key = `${which}${suffix}` as const;
            counter.reset();
            got[key].push(figure(await sh(engine, timed(which, cmd)), which));
            requests[key] = counter.text();
          }
        }
      }
      mode(true, true);
      // Again in the same container: what the guest kept from the first time.
      const again = await sh(engine, [timed('python', PYTHON), timed('pythonAgain', PYTHON), timed('ls', LS), timed('lsAgain', LS)].join('\n'));
      const tmpfsRuns = Math.max(3, Math.ceil(RUNS / 2));
      const script = [REPLICA, ...Array.from({ length: tmpfsRuns }, () => [
        timed('pythonTmpfs', `chroot /fast ${PYTHON}`), timed('lsTmpfs', 'ls -R /fast/tree/usr > /dev/null'),
      ]).flat()].join('\n');
      const out = await sh(engine, script, ['/fast:exec,size=80m']);
      for (const which of ['pythonTmpfs', 'lsTmpfs'] as const) {
        got[which] = [...out.matchAll(new RegExp(`^${which} ([0-9.]+)$`, 'gm'))].map((m) => Number(m[1]) * 1000);
        if (got[which].length !== tmpfsRuns) throw new Error(`distro bench: no ${which} figures in:\n${out.slice(-2000)}`);
      }
      const r = Math.round;
      const list = (xs: number[]) => xs.map(r).join(', ');
      const note = loadNote();
      return {
        'distro.python_start_ms': {
          value: r(median(got.python)), unit: 'ms', baseline: r(median(got.pythonTmpfs)),
          note: `\`${PYTHON}\` in a fresh ${BIG_IMAGE} container after the first, timed in the guest, median of ${RUNS} (${list(got.python)}); the first container of the image in the VM (cold page cache): ${r(pythonCold)}; baseline: the same under chroot in a tmpfs copy of its files (${list(got.pythonTmpfs)}); alternating in the same run, without image files shared between containers (VmRuntime.shareImageFiles false): ${r(median(got.pythonUnshared))} (${list(got.pythonUnshared)}), and without the guest cache either (guestCache false): ${r(median(got.pythonUncached))} (${list(got.pythonUncached)}); again in the same container: ${r(figure(again, 'pythonAgain'))}; 9P requests: ${requests.python}, first container ${requests.pythonCold}, unshared ${requests.pythonUnshared}, uncached ${requests.pythonUncached}; ${note}`,
        },
        'distro.ls_usr_ms': {
          value: r(median(got.ls)), unit: 'ms', baseline: r(median(got.lsTmpfs)),
          note: `\`${LS}\` (8659 entries) in a fresh container, timed in the guest, median of ${RUNS} (${list(got.ls)}); baseline: the same over /usr's tree (empty files) in a tmpfs (${list(got.lsTmpfs)}); alternating: without shared image files ${r(median(got.lsUnshared))} (${list(got.lsUnshared)}), without the guest cache either ${r(median(got.lsUncached))} (${list(got.lsUncached)}); again in the same container: ${r(figure(again, 'lsAgain'))}; 9P requests: ${requests.ls}, unshared ${requests.lsUnshared}, uncached ${requests.lsUncached}; ${note}`,
        },
      };
    } finally {
      await engine.shutdown().catch(() => {});
    }
  });
}

/** `bash -c script` in a fresh --rm container of the fixture; its output (stdout and stderr). */
async function sh(engine: Engine, script: string, tmpfs: string[] = []): Promise<string> {
  let out = '';
  const dec = new TextDecoder();
  const io = { onStdout: (b: Uint8Array) => { out += dec.decode(b); }, onStderr: (b: Uint8Array) => { out += dec.decode(b); } };
  const r = await engine.runContainer({ image: BIG_IMAGE, cmd: ['bash', '-c', script], run: parseRunFlags({ rm: true, tmpfs }), io });
  if (r.exit.exitCode !== 0) throw new Error(`distro bench: \`${script.slice(0, 200)}\` exited ${r.exit.exitCode}:\n${out.slice(-2000)}`);
  return out;
}

function figure(out: string, label: string): number {
  const m = new RegExp(`^${label} ([0-9.]+)$`, 'm').exec(out);
  if (!m) throw new Error(`distro bench: no ${label} figure in:\n${out.slice(-2000)}`);
  return Number(m[1]) * 1000;
}
