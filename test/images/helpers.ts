// Shared helpers for the bundled-image tests. They use only real peers (tar,
// skopeo, umoci, python3's tarfile, node:wasi), never skiff's own code: these
// tests vouch for the archives our loader is tested against.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../helpers/exec.ts';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DIST = join(REPO, 'vm-images', 'images', 'dist');
export const EPOCH = 1767225600;

export interface ManifestEntry {
  name: string;
  file: string;
  sha256: string;
  size: number;
  manifestDigest: string;
  platform: { os: string; architecture: string };
}

export function readManifest(): ManifestEntry[] {
  return JSON.parse(readFileSync(join(DIST, 'manifest.json'), 'utf8')) as ManifestEntry[];
}

export function entry(name: string): ManifestEntry {
  const found = readManifest().find((e) => e.name === name);
  if (!found) throw new Error(`dist/manifest.json has no image named ${name}`);
  return found;
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

const scratch: string[] = [];
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `skiff-${prefix}-`));
  scratch.push(dir);
  return dir;
}
export function cleanup(): void {
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Extract an OCI archive with GNU tar; returns the layout directory. */
export function extractArchive(file: string): string {
  const dir = tempDir('layout');
  run('tar', ['-xf', file, '-C', dir]);
  return dir;
}

export function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

export function blobPath(layout: string, digest: string): string {
  const [alg, hex] = digest.split(':');
  return join(layout, 'blobs', alg!, hex!);
}

export interface TarMember {
  name: string;
  type: string;
  linkname: string;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  mtime: number;
}

/** List a (possibly gzipped) tar with python3's tarfile: an independent reader. */
export function listTar(file: string): TarMember[] {
  const script = `
import json, sys, tarfile
with tarfile.open(sys.argv[1], 'r:*') as t:
    print(json.dumps([dict(name=m.name, type=m.type.decode(), linkname=m.linkname, size=m.size,
        mode=m.mode, uid=m.uid, gid=m.gid, uname=m.uname, gname=m.gname, mtime=m.mtime) for m in t]))`;
  return JSON.parse(run('python3', ['-c', script, file])) as TarMember[];
}

/**
 * skopeo copy oci-archive -> oci layout, then umoci unpack; returns the rootfs path.
 * `rootfsOnly` uses `umoci raw unpack`: umoci 0.4.7 cannot write a runtime
 * config.json for os "wasi" ("unsupported OS: wasi"), but unpacks its rootfs.
 */
export function umociUnpack(archive: string, opts: { rootfsOnly?: boolean } = {}): string {
  const dir = tempDir('umoci');
  run('skopeo', ['copy', '-q', `oci-archive:${archive}`, `oci:${join(dir, 'oci')}:img`]);
  const rootfs = join(dir, 'bundle', 'rootfs');
  if (opts.rootfsOnly) mkdirSync(dirname(rootfs));
  if (opts.rootfsOnly) run('umoci', ['raw', 'unpack', '--image', `${join(dir, 'oci')}:img`, rootfs]);
  else run('umoci', ['unpack', '--image', `${join(dir, 'oci')}:img`, join(dir, 'bundle')]);
  if (!existsSync(rootfs)) throw new Error(`umoci unpack of ${archive} produced no rootfs`);
  return rootfs;
}

/** Run a WASI module under Node's own node:wasi in a child process. */
export function runWasi(
  module: string,
  args: string[],
  opts: { env?: Record<string, string>; dir?: string; stdin?: string } = {},
): { stdout: string; stderr: string; status: number | null } {
  const runner = join(REPO, 'test', 'images', 'wasi-runner.mjs');
  const res = spawnSync(
    process.execPath,
    ['--no-warnings', runner, module, opts.dir ?? tempDir('wasi'), JSON.stringify(opts.env ?? {}), ...args],
    { encoding: 'utf8', input: opts.stdin ?? '', timeout: 30_000 },
  );
  if (res.error) throw res.error;
  return { stdout: res.stdout, stderr: res.stderr, status: res.status };
}
