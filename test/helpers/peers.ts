/**
 * The tests' peers: real tools from Debian packages (skopeo, umoci, chromium, crun, ...). One list,
 * .ci/debian-packages, says which package gives which command or file; .ci/install-peers installs
 * it, `npm test` checks it first (peers-setup.ts), and a suite that spawns a peer asks for it by
 * name (`requireTool`), so a missing one is named with its package instead of a bare ENOENT.
 *
 * Checking is file lookups only (PATH, stat, 20 bytes of an ELF header): no dpkg or apt call when
 * everything is there.
 */
import { accessSync, closeSync, constants, openSync, readFileSync, readSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
export const PACKAGE_LIST = join(ROOT, '.ci/debian-packages');
/** Installs every package of the list (root, or through sudo). */
export const INSTALLER = '.ci/install-peers';

export interface Peer {
  /** Debian package, possibly with an architecture (`crun:i386`). */
  deb: string;
  /** A command looked up on PATH, or an absolute file. */
  provides: string;
}

export function readPeerList(text: string = readFileSync(PACKAGE_LIST, 'utf8')): Peer[] {
  const peers: Peer[] = [];
  for (const raw of text.split('\n')) {
    const [deb, provides] = raw.replace(/#.*/, '').trim().split(/\s+/);
    if (!deb) continue;
    if (!provides) throw new Error(`${PACKAGE_LIST}: "${raw.trim()}" names no command or file`);
    peers.push({ deb, provides });
  }
  return peers;
}

/** The executable `name` resolves to (a path, or a command on `path`), or null. */
export function findTool(name: string, path: string = process.env['PATH'] ?? ''): string | null {
  const candidates = isAbsolute(name) ? [name] : path.split(delimiter).filter(Boolean).map((d) => join(d, name));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch { /* next */ }
  }
  return null;
}

const EM_386 = 3;

/** e_machine of an ELF file, or null if it is not one. */
function elfMachine(file: string): number | null {
  const h = Buffer.alloc(20);
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return null;
  }
  try {
    if (readSync(fd, h, 0, 20, 0) < 20 || h.readUInt32BE(0) !== 0x7f454c46) return null;
    return h[5] === 2 ? h.readUInt16BE(18) : h.readUInt16LE(18);
  } finally {
    closeSync(fd);
  }
}

/** Whether a peer is present: its command on PATH, or its file (an i386 ELF for `:i386`). */
export function peerPresent(p: Peer, path?: string): boolean {
  if (!isAbsolute(p.provides)) return findTool(p.provides, path) !== null;
  try {
    accessSync(p.provides, constants.R_OK);
  } catch {
    return false;
  }
  return !p.deb.endsWith(':i386') || elfMachine(p.provides) === EM_386;
}

export function missingPeers(peers: Peer[] = readPeerList(), path?: string): Peer[] {
  return peers.filter((p) => !peerPresent(p, path));
}

const found = new Map<string, string>();

/**
 * The path of a peer tool, for a suite that spawns it; throws naming its Debian package when it is
 * missing. `name` is a command (looked up on PATH) or an absolute path.
 */
export function requireTool(name: string, debPackage: string): string {
  const hit = found.get(name) ?? findTool(name);
  if (hit) {
    found.set(name, hit);
    return hit;
  }
  throw new Error(`${name} is not installed: it comes with the Debian package ${debPackage}. `
    + `Install it (apt-get install ${debPackage}), or every test peer at once: sudo ${INSTALLER}`);
}

/** The package .ci/debian-packages lists for a command or file, if any. */
export function debPackageOf(provides: string): string | undefined {
  return (peerList ??= readPeerList()).find((p) => p.provides === provides)?.deb;
}
let peerList: Peer[] | undefined;
