/**
 * The bzip2 and xz decoders (ADD unpacks .tar.bz2 and .tar.xz as BuildKit does) against what the
 * reference tools write: python3's bz2 and lzma modules (libbz2, liblzma) make the inputs.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { bunzip2 } from '../../src/archive/bzip2.ts';
import { unxz } from '../../src/archive/xz.ts';
import { requireTool } from '../helpers/peers.ts';

/** Every input compressed by each expression, in one python3 run (length-prefixed outputs). */
function pyAll(exprs: string[], ins: Uint8Array[]): Uint8Array[][] {
  const framed = Buffer.concat(ins.flatMap((d) => [Buffer.from(new Uint32Array([d.length]).buffer), Buffer.from(d)]));
  const code = `import sys, bz2, lzma, struct\nraw = sys.stdin.buffer.read()\nout = sys.stdout.buffer\nwhile raw:\n    n = struct.unpack('<I', raw[:4])[0]\n    d = raw[4:4 + n]\n    raw = raw[4 + n:]\n    for e in [${exprs.map((e) => JSON.stringify(e)).join(', ')}]:\n        z = eval(e)\n        out.write(struct.pack('<I', len(z)) + z)\n`;
  const res = new Uint8Array(execFileSync(requireTool('python3', 'python3'), ['-c', code], { input: framed, maxBuffer: 1 << 28 }));
  const dv = new DataView(res.buffer, res.byteOffset, res.byteLength);
  const outs: Uint8Array[][] = [];
  let pos = 0;
  for (let i = 0; i < ins.length; i++) {
    const row: Uint8Array[] = [];
    for (let k = 0; k < exprs.length; k++) {
      const n = dv.getUint32(pos, true);
      row.push(res.subarray(pos + 4, pos + 4 + n));
      pos += 4 + n;
    }
    outs.push(row);
  }
  return outs;
}

function py(code: string, input: Uint8Array): Uint8Array {
  return new Uint8Array(execFileSync(requireTool('python3', 'python3'), ['-c', `import sys, bz2, lzma\nd = sys.stdin.buffer.read()\n${code}`], { input, maxBuffer: 1 << 28 }));
}

/** Inputs that exercise runs, repeats, matches and incompressible data. */
function inputs(): Uint8Array[] {
  const text = new TextEncoder().encode('The quick brown fox jumps over the lazy dog. '.repeat(20000));
  const mixed = new Uint8Array(600_000);
  for (let i = 0; i < mixed.length; i++) mixed[i] = (i % 251) ^ ((i >> 10) & 7) ^ (i % 7 === 0 ? 13 : 0);
  let x = 12345;
  const noise = new Uint8Array(150_000).map(() => ((x = (x * 1103515245 + 12345) >>> 0) >>> 24));
  return [new Uint8Array(0), new TextEncoder().encode('hi'), new Uint8Array(70_000).fill(0x61), text, mixed, noise];
}

describe('bunzip2', () => {
  it('decodes what libbz2 writes at levels 1 and 9, and concatenated streams', () => {
    const ins = inputs();
    pyAll(['bz2.compress(d, 1)', 'bz2.compress(d, 9)'], ins).forEach((row, i) => {
      for (const z of row) expect(Buffer.from(bunzip2(z)).equals(Buffer.from(ins[i]!))).toBe(true);
    });
    const two = py('sys.stdout.buffer.write(bz2.compress(b"one ") + bz2.compress(b"two"))', new Uint8Array(0));
    expect(new TextDecoder().decode(bunzip2(two))).toBe('one two');
  });
  it('refuses corrupt input and output over the bound', () => {
    const z = py('sys.stdout.buffer.write(bz2.compress(d))', new TextEncoder().encode('hello world '.repeat(1000)));
    const broken = z.slice();
    broken[z.length >> 1] ^= 0xff;
    expect(() => bunzip2(broken)).toThrow(/bzip2:/);
    expect(() => bunzip2(z, { maxOutputBytes: 1000 })).toThrow('bzip2: output larger than 1000 bytes');
    expect(() => bunzip2(new TextEncoder().encode('BZh9 not really'))).toThrow(/bzip2:/);
  });
});

describe('unxz', () => {
  it('decodes what liblzma writes: presets, CRC32/CRC64/no check, odd lc/lp/pb, several blocks, concatenated streams', () => {
    const variants = [
      'lzma.compress(d, preset=0)', 'lzma.compress(d, preset=6)', 'lzma.compress(d, preset=9 | lzma.PRESET_EXTREME)',
      'lzma.compress(d, check=lzma.CHECK_CRC32)', 'lzma.compress(d, check=lzma.CHECK_NONE)', 'lzma.compress(d, check=lzma.CHECK_SHA256)',
      'lzma.compress(d, filters=[{"id": lzma.FILTER_LZMA2, "preset": 6, "lc": 1, "lp": 3, "pb": 0}])',
      'lzma.compress(d[: len(d) // 2]) + lzma.compress(d[len(d) // 2 :])',
    ];
    const ins = inputs();
    pyAll(variants, ins).forEach((row, i) => {
      for (const z of row) expect(Buffer.from(unxz(z)).equals(Buffer.from(ins[i]!))).toBe(true);
    });
  });
  it('refuses other filters, corrupt input and output over the bound', () => {
    const d = new TextEncoder().encode('hello world '.repeat(1000));
    const bcj = py('sys.stdout.buffer.write(lzma.compress(d, filters=[{"id": lzma.FILTER_X86}, {"id": lzma.FILTER_LZMA2}]))', d);
    expect(() => unxz(bcj)).toThrow('only LZMA2');
    const z = py('sys.stdout.buffer.write(lzma.compress(d, check=lzma.CHECK_CRC32))', d);
    const broken = z.slice();
    broken[z.length >> 1] ^= 0xff;
    expect(() => unxz(broken)).toThrow(/xz:/);
    expect(() => unxz(z, { maxOutputBytes: 1000 })).toThrow('xz: output larger than 1000 bytes');
  });
});
