/** Backend choice: which image forms the WASI runtime takes, and which it leaves to the Linux VM. */
import { describe, expect, it } from 'vitest';
import { detectWasiImage, isWasiImage, readModuleFile } from '../../../src/runtime/wasi/index.ts';
import { MediaType } from '../../../src/oci/mediatypes.ts';
import type { Descriptor } from '../../../src/oci/descriptor.ts';
import type { Digest } from '../../../src/oci/digest.ts';
import { isSkiffError } from '../../../src/errors.ts';
import { emptyOverlay, fixture } from './helpers.ts';

const digest = ('sha256:' + 'ab'.repeat(32)) as Digest;
const desc = (mediaType: string): Descriptor => ({ mediaType, digest, size: 10 });
const tarManifest = { config: desc(MediaType.ociConfig), layers: [desc(MediaType.ociLayerGzip)] };

describe('isWasiImage', () => {
  it('takes platform wasi/wasm (and wasip1, wasm32) with a .wasm entrypoint', () => {
    expect(detectWasiImage({ os: 'wasi', architecture: 'wasm', config: { Entrypoint: ['/hello.wasm'] } }, tarManifest)).toEqual({ kind: 'platform', entrypoint: '/hello.wasm' });
    expect(isWasiImage({ os: 'wasip1', architecture: 'wasm32', config: { Cmd: ['/app/lua.wasm', '-v'] } }, tarManifest)).toBe(true);
    expect(isWasiImage({ os: 'WASI', architecture: 'wasm', config: { Entrypoint: ['/X.WASM'] } }, tarManifest)).toBe(true);
  });

  it('leaves Linux images and wasi images without a .wasm entrypoint alone', () => {
    expect(isWasiImage({ os: 'linux', architecture: '386', config: { Cmd: ['/bin/sh'] } }, tarManifest)).toBe(false);
    expect(isWasiImage({ os: 'linux', architecture: '386', config: { Cmd: ['/app.wasm'] } }, tarManifest)).toBe(false);
    expect(isWasiImage({ os: 'wasi', architecture: 'wasm', config: { Cmd: ['/bin/sh'] } }, tarManifest)).toBe(false);
    expect(isWasiImage({ os: 'wasi', architecture: 'wasm', config: null }, tarManifest)).toBe(false);
  });

  it('takes the CNCF Wasm artifact: wasm config media type and an application/wasm layer', () => {
    const layer = desc(MediaType.wasmLayer);
    const m = { config: desc(MediaType.wasmConfig), layers: [layer] };
    expect(detectWasiImage({ os: 'wasip1', architecture: 'wasm' }, m)).toEqual({ kind: 'artifact', layer });
    // The wasm config without a module layer is not runnable.
    expect(isWasiImage({ os: 'wasip1', architecture: 'wasm' }, { config: desc(MediaType.wasmConfig), layers: [] })).toBe(false);
  });

  it("takes crun's module.wasm.image/variant=compat annotation or label with a .wasm entrypoint", () => {
    const linux = { os: 'linux', architecture: 'amd64', config: { Entrypoint: ['/hello.wasm'] } };
    expect(detectWasiImage(linux, { ...tarManifest, annotations: { 'module.wasm.image/variant': 'compat' } })).toEqual({ kind: 'compat', entrypoint: '/hello.wasm' });
    expect(isWasiImage({ ...linux, config: { ...linux.config, Labels: { 'module.wasm.image/variant': 'compat' } } }, tarManifest)).toBe(true);
    expect(isWasiImage(linux, { ...tarManifest, annotations: { 'module.wasm.image/variant': 'compat-smart' } })).toBe(false);
    expect(isWasiImage({ ...linux, config: { Entrypoint: ['/bin/app'] } }, { ...tarManifest, annotations: { 'module.wasm.image/variant': 'compat' } })).toBe(false);
  });
});

describe('readModuleFile', () => {
  it('reads the entrypoint through symlinks and checks the wasm magic', () => {
    const fs = emptyOverlay();
    const bin = fs.mkdir(fs.root(), 'bin', { mode: 0o755, uid: 0, gid: 0 });
    const bytes = fixture('hello');
    fs.write(fs.create(bin, 'hello.wasm', { mode: 0o755, uid: 0, gid: 0 }), 0, bytes);
    fs.symlink(fs.root(), 'hello.wasm', '/bin/hello.wasm', { uid: 0, gid: 0 });
    fs.write(fs.create(bin, 'sh.wasm', { mode: 0o755, uid: 0, gid: 0 }), 0, new TextEncoder().encode('#!/bin/sh\n'));
    expect(readModuleFile({ fs, path: '/hello.wasm' })).toEqual(bytes);
    expect(readModuleFile({ fs, path: 'hello.wasm', cwd: '/bin' })).toEqual(bytes);
    // A bare name is searched in PATH first, as execvp does.
    expect(readModuleFile({ fs, path: 'hello.wasm', cwd: '/nowhere', searchPath: '/usr/bin:/bin' })).toEqual(bytes);
    expect(() => readModuleFile({ fs, path: 'hello.wasm', cwd: '/nowhere' })).toThrow(/entrypoint hello.wasm/);
    expect(() => readModuleFile({ fs, path: '/bin/sh.wasm' })).toThrow(/entrypoint \/bin\/sh.wasm is not a WebAssembly module \(starts with 23 21 2f 62/);
    let err: unknown;
    try {
      readModuleFile({ fs, path: '/nope.wasm' });
    } catch (e) {
      err = e;
    }
    expect(isSkiffError(err, 'NOT_FOUND')).toBe(true);
  });
});
