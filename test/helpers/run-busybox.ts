/**
 * `docker run --rm skiff/busybox ...` through an Engine, its output gathered: the network suites'
 * one way to run a short-lived container on the real guest.
 */
import type { Engine } from '../../src/engine/engine.ts';
import { parseRunFlags, type RunFlags } from '../../src/runtime/spec/options.ts';

export interface BusyboxRun {
  code: number;
  /** stdout, and stderr too unless `separate` was asked. */
  out: string;
  /** stderr, only with `separate`. */
  err?: string;
}

export async function runBusybox(engine: Engine, flags: RunFlags, o: { separate?: boolean } = {}): Promise<BusyboxRun> {
  const td = new TextDecoder();
  const out: string[] = [];
  const err: string[] = [];
  const r = await engine.runContainer({
    image: 'skiff/busybox', run: parseRunFlags({ rm: true, ...flags }),
    io: { onStdout: (d) => out.push(td.decode(d)), onStderr: (d) => (o.separate ? err : out).push(td.decode(d)) },
  });
  return { code: r.exit.exitCode, out: out.join(''), ...(o.separate ? { err: err.join('') } : {}) };
}
