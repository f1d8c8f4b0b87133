/**
 * The seal on stored VM states (snapshot-store.ts): a state opens only under the key it was sealed
 * for, in this format, with the bytes it was sealed with. Anything else is DIGEST_MISMATCH, which
 * the Machine turns into a cold boot.
 */
import { describe, expect, it } from 'vitest';
import { isSkiffError } from '../../../src/errors.ts';
import { openSnapshot, sealSnapshot, SNAPSHOT_FORMAT } from '../../../src/runtime/vm/snapshot-store.ts';

const state = () => {
  const b = new Uint8Array(300_000);
  for (let i = 0; i < b.length; i++) b[i] = (i * 2654435761) >>> 24;
  return b.buffer;
};

async function refused(p: Promise<unknown>, why: RegExp): Promise<void> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(isSkiffError(err, 'DIGEST_MISMATCH')).toBe(true);
  expect(String((err as Error).message)).toMatch(why);
}

describe('sealed snapshots', () => {
  it('round-trips a state under its key, into a buffer of its own', async () => {
    const s = state();
    const sealed = await sealSnapshot('vm-k1', s);
    const header = new TextDecoder().decode(new Uint8Array(sealed, 0, 120)).split('\n')[0];
    expect(header).toMatch(new RegExp(`^skiff-vm-state ${SNAPSHOT_FORMAT} vm-k1 sha256:[0-9a-f]{64}$`));
    const opened = await openSnapshot('vm-k1', sealed);
    expect(new Uint8Array(opened)).toEqual(new Uint8Array(s));
    expect(opened.byteLength).toBe(s.byteLength);
  });

  it('refuses a changed byte, a truncated state, another key, another format and no header', async () => {
    const sealed = new Uint8Array(await sealSnapshot('vm-k1', state()));
    const flipped = sealed.slice();
    flipped[flipped.length - 1000]! ^= 1;
    await refused(openSnapshot('vm-k1', flipped.buffer), /hashes to sha256:[0-9a-f]{64}, its header says/);
    await refused(openSnapshot('vm-k1', sealed.slice(0, sealed.length - 1).buffer), /hashes to/);
    await refused(openSnapshot('vm-k2', sealed.slice().buffer), /sealed for vm-k1/);
    const text = new TextDecoder().decode(sealed.subarray(0, 200));
    const older = new TextEncoder().encode(text.replace(`skiff-vm-state ${SNAPSHOT_FORMAT} `, 'skiff-vm-state 1 '));
    await refused(openSnapshot('vm-k1', new Uint8Array([...older, ...sealed.subarray(200)]).buffer), /format 1/);
    // What an unsealed store held before: a bare gzip stream.
    await refused(openSnapshot('vm-k1', new Uint8Array([0x1f, 0x8b, 8, 0, 1, 2, 3]).buffer), /no skiff-vm-state header/);
    await refused(openSnapshot('vm-k1', new ArrayBuffer(0)), /no skiff-vm-state header/);
  });
});
