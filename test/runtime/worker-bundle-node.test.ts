/** The Node workers' bundles (src/runtime/worker-bundle-node.ts): built once per source state, old ones swept. */
import { existsSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeWorkerScript, pruneOldBundles } from '../../src/runtime/worker-bundle-node.ts';

describe('Node worker bundles', () => {
  it('one cached file per entry and source state, reused by the next call', async () => {
    const a = await nodeWorkerScript('wasi-worker-node');
    expect(a).toMatch(/skiff-wasi-worker-node-[0-9a-f]{16}\.mjs$/);
    expect(existsSync(a)).toBe(true);
    expect(await nodeWorkerScript('wasi-worker-node')).toBe(a);
  });

  it('sweeps bundles older than an hour, keeps recent ones and the current one', () => {
    const tag = `${process.pid}-${Date.now()}`;
    const old = join(tmpdir(), `skiff-wasi-worker-node-old${tag}.mjs`);
    const legacy = join(tmpdir(), `skiff-wasi-worker-${tag}.mjs`);
    const recent = join(tmpdir(), `skiff-wasi-worker-node-recent${tag}.mjs`);
    const keep = join(tmpdir(), `skiff-wasi-worker-node-keep${tag}.mjs`);
    const vm = join(tmpdir(), `skiff-vm-worker-node-other${tag}.mjs`);
    const twoHoursAgo = (Date.now() - 2 * 3600_000) / 1000;
    for (const f of [old, legacy, recent, keep, vm]) writeFileSync(f, '');
    for (const f of [old, legacy, keep, vm]) utimesSync(f, twoHoursAgo, twoHoursAgo);
    pruneOldBundles('wasi-worker-node', keep);
    expect([old, legacy, recent, keep, vm].map(existsSync)).toEqual([false, false, true, true, true]);
    pruneOldBundles('vm-worker-node', join(tmpdir(), 'none'));
    expect(existsSync(vm)).toBe(false);
    for (const f of [recent, keep]) rmSync(f, { force: true });
  });
});
