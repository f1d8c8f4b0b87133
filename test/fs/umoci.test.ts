/**
 * Interop with the OCI reference tooling: the layers we write (a lower layer, then a container's
 * diffUpper with its whiteouts, opaque markers and hard links) are added to a real OCI image with
 * `umoci raw add-layer` and unpacked by `umoci unpack`; the rootfs on disk must equal our merged view.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { TarEntry } from '../../src/archive/types.ts';
import { writeTar } from '../../src/archive/tar-writer.ts';
import { diffUpper } from '../../src/fs/diff.ts';
import { applyLayer } from '../../src/fs/layer.ts';
import { Overlay } from '../../src/fs/overlay.ts';
import { dumpDisk } from './disk.ts';
import { dir, dumpFs, file, hardlink } from './helpers.ts';
import { Model } from './model.ts';
import { baseEntries, outcome, randomOp, Rng } from './random-ops.ts';
import { FsError } from '../../src/fs/errno.ts';
import { ModelError } from './model.ts';
import { requireTool } from '../helpers/peers.ts';

const work = mkdtempSync(join(tmpdir(), 'skiff-fs-umoci-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function umoci(...args: string[]): void {
  execFileSync(requireTool('umoci', 'umoci'), args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Builds an image from our layers with umoci and unpacks it; returns the rootfs path. */
function unpackWithUmoci(name: string, layers: TarEntry[][]): string {
  const layout = join(work, `${name}-layout`);
  umoci('init', '--layout', layout);
  umoci('new', '--image', `${layout}:t`);
  layers.forEach((entries, k) => {
    const tar = join(work, `${name}-${k}.tar`);
    writeFileSync(tar, writeTar(entries));
    umoci('raw', 'add-layer', '--image', `${layout}:t`, tar);
  });
  const bundle = join(work, `${name}-bundle`);
  umoci('unpack', '--image', `${layout}:t`, bundle);
  return join(bundle, 'rootfs');
}

const noXattrs = (lines: string[]) => lines.map((l) => l.replace(/ x\{[^}]*\}/, ''));
/** umoci gives the rootfs directory itself its own mode; compare the tree below it. */
const belowRoot = (lines: string[]) => lines.slice(1);

describe('layers we write, unpacked by umoci', () => {
  it('finds umoci installed', () => {
    expect(execFileSync(requireTool('umoci', 'umoci'), ['--version']).toString()).toMatch(/umoci version/);
  });

  for (const opaqueMarkers of [false, true]) {
    it(`recreated, renamed and deleted directories and lower hard links (opaqueMarkers ${opaqueMarkers})`, () => {
      const lowerEntries = [
        dir('d/'), dir('d/sub/'), file('d/sub/old', 'o'), file('d/f', 'f'),
        dir('keep/'), file('keep/a', 'a'), dir('empty/'), file('empty/x', 'x'),
        file('bin/busybox', 'BB'), hardlink('bin/sh', 'bin/busybox'), dir('gone/'), dir('gone/deep/'), file('gone/deep/y', 'y'),
      ];
      const lower = applyLayer(null, lowerEntries);
      const fs = new Overlay({ lower });
      const A = { mode: 0o640, uid: 0, gid: 0 };
      const D = { mode: 0o750, uid: 0, gid: 0 };
      const at = (p: string) => p.split('/').reduce((n, part) => fs.lookup(n, part), fs.root());
      // d: emptied, removed and recreated with a same-named child (must replace, not merge)
      fs.unlink(at('d/sub'), 'old');
      fs.unlink(at('d'), 'sub', { directory: true });
      fs.unlink(at('d'), 'f');
      fs.unlink(fs.root(), 'd', { directory: true });
      fs.create(fs.mkdir(fs.mkdir(fs.root(), 'd', D), 'sub', D), 'new', A);
      // keep renamed over the emptied lower directory `empty`
      fs.unlink(at('empty'), 'x');
      fs.rename(fs.root(), 'keep', fs.root(), 'empty');
      // a write through one name of a lower hard link pair, and a third name
      fs.write(at('bin/sh'), 0, new TextEncoder().encode('sh!'));
      fs.link(fs.root(), 'third', at('bin/busybox'));
      fs.unlink(at('gone/deep'), 'y');
      fs.unlink(at('gone'), 'deep', { directory: true });
      fs.unlink(fs.root(), 'gone', { directory: true });
      const diff = diffUpper(fs, { opaqueMarkers });
      expect(diff.some((e) => e.header.name.endsWith('.wh..wh..opq'))).toBe(opaqueMarkers);
      const rootfs = unpackWithUmoci(`scenario-${opaqueMarkers}`, [lowerEntries, diff]);
      const want = belowRoot(noXattrs(dumpFs(fs)));
      expect(want).toContain('/bin/sh file 644 0:0 n3 "sh!" =/bin/busybox');
      expect(belowRoot(dumpDisk(rootfs))).toEqual(want);
    });
  }

  for (const seed of [3, 17, 29, 41, 58, 77, 91, 104, 123, 150]) {
    it(`a random container's diff over a lower layer, seed ${seed}`, () => {
      const lowerEntries = baseEntries();
      const lower = applyLayer(null, lowerEntries);
      const ov = new Overlay({ lower });
      const m = Model.fromTree(lower);
      const r = new Rng(seed * 104729);
      let ok = 0;
      for (let step = 0; step < 80; step++) {
        const op = randomOp(r, m);
        const want = outcome(() => op.model(m), ModelError);
        expect(outcome(() => op.fs(ov), FsError)).toBe(want);
        if (want === 'ok') ok++;
      }
      expect(ok).toBeGreaterThan(10);
      const diff = diffUpper(ov, { opaqueMarkers: seed % 2 === 1 });
      expect(diff.some((e) => e.header.name.includes('.wh.'))).toBe(true);
      const rootfs = unpackWithUmoci(`seed${seed}`, [lowerEntries, diff]);
      expect(belowRoot(dumpDisk(rootfs))).toEqual(belowRoot(noXattrs(dumpFs(ov))));
    });
  }
});
