/** VM snapshot files (snapshot-node.ts): whole files under the key's name, private, nothing stray. */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isSkiffError } from '../../../src/errors.ts';
import { nodeSnapshots } from '../../../src/runtime/vm/snapshot-node.ts';

const home = mkdtempSync(join(tmpdir(), 'skiff-snap-files-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('nodeSnapshots', () => {
  it('puts, gets and deletes a state as one private file under its key', async () => {
    const dir = join(home, 'a');
    const s = nodeSnapshots(dir);
    expect(await s.get('vm-k')).toBeNull();
    await s.put('vm-k', new Uint8Array([1, 2, 3]).buffer);
    await s.put('vm-k', new Uint8Array([4, 5, 6, 7]).buffer);
    expect(new Uint8Array((await s.get('vm-k'))!)).toEqual(new Uint8Array([4, 5, 6, 7]));
    expect(readdirSync(dir)).toEqual(['vm-k.state']);
    expect(statSync(join(dir, 'vm-k.state')).mode & 0o777).toBe(0o600);
    await s.delete('vm-k');
    expect(await s.get('vm-k')).toBeNull();
    await expect(s.get('../x')).rejects.toThrow(/bad snapshot key/);
  });

  it('a failed put is a STORAGE error and leaves no temporary file', async () => {
    const dir = join(home, 'b');
    const s = nodeSnapshots(dir);
    await s.put('vm-k', new Uint8Array([1]).buffer);
    // The target name taken by a directory: the rename fails after the temporary file was written.
    rmSync(join(dir, 'vm-k.state'));
    mkdirSync(join(dir, 'vm-k.state', 'inside'), { recursive: true });
    const err = await s.put('vm-k', new Uint8Array([2]).buffer).catch((e: unknown) => e);
    expect(isSkiffError(err, 'STORAGE')).toBe(true);
    expect(readdirSync(dir)).toEqual(['vm-k.state']);
  });

  it('a put drops the other states and temporary files a dead writer left, not a live one', async () => {
    const dir = join(home, 'c');
    mkdirSync(dir, { recursive: true });
    for (const f of ['vm-old-format.state', 'vm-other-kernel.state', 'vm-k.state.999.tmp', 'vm-k.state.998.tmp', 'notes.txt']) writeFileSync(join(dir, f), 'x');
    const hoursAgo = (Date.now() - 2 * 3600_000) / 1000;
    utimesSync(join(dir, 'vm-k.state.999.tmp'), hoursAgo, hoursAgo);
    await nodeSnapshots(dir).put('vm-k', new Uint8Array([1]).buffer);
    expect(readdirSync(dir).sort()).toEqual(['notes.txt', 'vm-k.state', 'vm-k.state.998.tmp']);
  });
});
