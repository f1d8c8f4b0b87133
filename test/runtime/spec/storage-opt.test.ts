/** `--storage-opt size=`: Docker's syntax (go-units sizes), its usage errors at create, and the spec field. */
import { describe, expect, it } from 'vitest';
import { resolveContainerSpec } from '../../../src/runtime/spec/container-spec.ts';
import { parseRunFlags, parseStorageOpt, validateRunOptions } from '../../../src/runtime/spec/options.ts';
import { bytes } from '../../../src/runtime/spec/types.ts';

describe('--storage-opt', () => {
  it('size= takes go-units sizes, powers of 1024, the last one winning', () => {
    expect(parseRunFlags({ storageOpt: ['size=64m'] })).toEqual({ storageSize: 64 * 2 ** 20 });
    expect(parseStorageOpt('size=1.5G')).toEqual({ storageSize: 1.5 * 2 ** 30 });
    expect(parseStorageOpt('size=512MiB')).toEqual({ storageSize: 512 * 2 ** 20 });
    expect(parseStorageOpt('size=4096')).toEqual({ storageSize: 4096 });
    expect(parseStorageOpt('SIZE=2k')).toEqual({ storageSize: 2048 });
    expect(parseRunFlags({ storageOpt: ['size=1g', 'size=2m'] }).storageSize).toBe(2 * 2 ** 20);
  });

  it('bad values are usage errors naming the flag and the value', () => {
    const err = (v: string) => {
      try {
        parseRunFlags({ storageOpt: [v] });
      } catch (e) {
        return e;
      }
      throw new Error(`accepted ${v}`);
    };
    expect(err('size=abc')).toMatchObject({ code: 'INVALID_ARGUMENT', message: `invalid argument "abc" for "--storage-opt size" flag: invalid size: 'abc'` });
    expect(err('size=10x')).toMatchObject({ code: 'INVALID_ARGUMENT', message: `invalid argument "10x" for "--storage-opt size" flag: invalid suffix: 'x'` });
    expect(err('size=')).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('invalid size') });
    expect(err('size')).toMatchObject({ code: 'INVALID_ARGUMENT', message: 'invalid storage option "size": want key=value' });
    expect(err('dm.basesize=10G')).toMatchObject({ code: 'INVALID_ARGUMENT', message: '--storage-opt dm.basesize: unknown option (only size is supported)' });
    expect(() => validateRunOptions({ storageSize: bytes(-1) })).toThrow(/invalid storage size -1/);
  });

  it('the spec resolved at create carries the size; 0 or none leaves the engine default', () => {
    const spec = (run: Parameters<typeof resolveContainerSpec>[0]['run']) => resolveContainerSpec({ id: 'a'.repeat(64), image: { Cmd: ['sh'] }, ...(run ? { run } : {}) });
    expect(spec(parseRunFlags({ storageOpt: ['size=2m'] })).limits).toEqual({ storageSize: 2 * 2 ** 20 });
    expect(spec({ storageSize: bytes(0) }).limits).toEqual({});
    expect(spec(undefined).limits).toEqual({});
  });
});
