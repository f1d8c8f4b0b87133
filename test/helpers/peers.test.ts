/**
 * The peer check `npm test` runs first (peers-setup.ts) and requireTool: on a host described to
 * them (a PATH of our own, a pretend root or sudo), never by installing anything here.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { planPeers, type Host } from './peers-setup.ts';
import { findTool, missingPeers, peerPresent, readPeerList, requireTool, ROOT } from './peers.ts';

const dir = mkdtempSync(join(tmpdir(), 'skiff-peers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fakeTool(name: string): string {
  const f = join(dir, name);
  writeFileSync(f, '#!/bin/sh\n');
  chmodSync(f, 0o755);
  return f;
}

const host = (o: Partial<Host>): Host => ({ root: false, hasSudo: true, sudo: () => false, debian: true, ...o });

describe('the package list', () => {
  it('is the one .ci/install-peers installs, and names what the suites spawn', () => {
    const peers = readPeerList();
    const debs = peers.map((p) => p.deb);
    for (const d of ['chromium', 'skopeo', 'umoci', 'crun:i386', 'busybox-static:i386', 'docker-registry', 'libarchive-tools', 'clang-16', 'file']) expect(debs).toContain(d);
    expect(new Set(debs).size).toBe(debs.length);
    expect(() => readPeerList('skopeo\n')).toThrow(/names no command or file/);
    expect(readPeerList('# c\n\nzstd  zstd   # why\n')).toEqual([{ deb: 'zstd', provides: 'zstd' }]);
  });

  it('finds everything on this machine (the tests run here)', () => {
    expect(missingPeers()).toEqual([]);
  });

  it('checks an i386 package\'s file is an i386 ELF', () => {
    expect(peerPresent({ deb: 'busybox-static:i386', provides: '/bin/busybox' })).toBe(true);
    expect(peerPresent({ deb: 'busybox-static:i386', provides: process.execPath })).toBe(false); // amd64 node
    expect(peerPresent({ deb: 'busybox-static:i386', provides: join(dir, 'nope') })).toBe(false);
  });
});

describe('a PATH without skopeo and umoci', () => {
  const path = dir;
  fakeTool('zstd');

  it('reports exactly those as missing', () => {
    const peers = readPeerList('skopeo skopeo\numoci umoci\nzstd zstd\n');
    expect(missingPeers(peers, path).map((p) => p.deb)).toEqual(['skopeo', 'umoci']);
    expect(findTool('zstd', path)).toBe(join(dir, 'zstd'));
  });

  it('as a user without passwordless sudo: one message naming the command', () => {
    const missing = readPeerList('skopeo skopeo\numoci umoci\n');
    const plan = planPeers(missing, host({}));
    expect(plan).toEqual({ action: 'stop', message: 'the tests need Debian packages that are missing (skopeo, umoci). Run: sudo .ci/install-peers   (then npm test again)' });
    expect(planPeers(missing, host({ hasSudo: false }))).toMatchObject({ message: expect.stringContaining('Run: su -c .ci/install-peers') });
  });

  it('as root or with passwordless sudo: installs through .ci/install-peers; SKIFF_PEERS=check only names it', () => {
    const missing = readPeerList('skopeo skopeo\n');
    expect(planPeers(missing, host({ root: true }))).toMatchObject({ action: 'install', command: ['.ci/install-peers'] });
    expect(planPeers(missing, host({ sudo: () => true }))).toMatchObject({ action: 'install', command: ['sudo', '-n', '.ci/install-peers'] });
    expect(planPeers(missing, host({ root: true }), { install: false })).toMatchObject({ action: 'stop', message: expect.stringContaining('Run: .ci/install-peers ') });
    expect(planPeers(missing, host({ debian: false }))).toMatchObject({ action: 'stop', message: expect.stringContaining('not Debian or Ubuntu') });
    expect(planPeers([], host({ debian: false }))).toEqual({ action: 'ok' });
  });

  it('npm test stops before running anything, with the one message', () => {
    // vitest itself, with a PATH of the machine's tools minus skopeo: only the message, exit 1.
    const bin = join(dir, 'bin');
    spawnSync('sh', ['-c', `mkdir -p ${bin} && for d in /usr/local/bin /usr/bin /bin; do for f in $d/*; do b=$(basename "$f"); [ "$b" = skopeo ] || [ -e ${bin}/$b ] || ln -s "$f" ${bin}/$b; done; done`]);
    const r = spawnSync(process.execPath, [join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', 'test/helpers/errors.test.ts'], {
      cwd: ROOT, encoding: 'utf8', env: { ...process.env, PATH: bin, SKIFF_PEERS: 'check' }, timeout: 60_000,
    });
    expect(r.status).toBe(1);
    const lines = r.stderr.split('\n').filter((l) => l.trim());
    expect(lines).toEqual([`skiff: the tests need Debian packages that are missing (skopeo). Run: ${process.getuid?.() === 0 ? '' : 'sudo '}.ci/install-peers   (then npm test again)`]);
    expect(r.stdout).not.toMatch(/✓|passed/);
  });
});

describe('requireTool', () => {
  it('returns the tool\'s path, or names its Debian package', () => {
    expect(requireTool('sh', 'dash')).toMatch(/\/sh$/);
    expect(requireTool('/bin/busybox', 'busybox-static:i386')).toBe('/bin/busybox');
    expect(() => requireTool('skiff-no-such-peer', 'skiff-peer-pkg')).toThrow(
      'skiff-no-such-peer is not installed: it comes with the Debian package skiff-peer-pkg. Install it (apt-get install skiff-peer-pkg), or every test peer at once: sudo .ci/install-peers');
  });
});
