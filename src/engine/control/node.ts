/**
 * The control plane on Node: this process's socket and identity, and the way to other owners.
 *
 * The socket lives in a directory only this user can enter (0700, created before anything listens
 * in it, refused when it is someone else's or a symlink), so no window exists in which another
 * user could connect: $SKIFF_HOME/run, else $XDG_RUNTIME_DIR/skiff, else <tmpdir>/skiff-<uid> when
 * the home's path is too long for a unix socket address.
 */
import { lstatSync, mkdirSync, readdirSync, rmSync, chmodSync } from 'node:fs';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { SkiffError } from '../../errors.ts';
import { connectOwner } from './client.ts';
import { checkPid, processStart } from './identity.ts';
import { listenControl } from './server.ts';
import type { ControlPlane, ControlTarget, Owner, RemoteOwner } from './types.ts';

/** sun_path holds 108 bytes with its NUL; Node refuses longer paths. */
const MAX_SOCKET_PATH = 100;

export interface NodeControlOptions {
  /** $SKIFF_HOME: the socket goes to <home>/run when the path fits. */
  home: string;
  env?: NodeJS.ProcessEnv;
  /** How long an owner may take to answer hello before it counts as hung (default 10 s). */
  helloTimeoutMs?: number;
}

function randomHex(bytes: number): string {
  return Array.from(globalThis.crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Creates `dir` (mode 0700) or checks that the one there is this user's own, private directory. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dirname(dir), { recursive: true });
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const st = lstatSync(dir);
  const uid = process.getuid?.();
  if (!st.isDirectory() || (uid !== undefined && st.uid !== uid)) {
    throw new SkiffError('CONFLICT', `${dir} must be a directory of this user's (it is ${st.isSymbolicLink() ? 'a symlink' : st.isDirectory() ? `owned by uid ${st.uid}` : 'not a directory'}): refusing to put the control socket there`);
  }
  // Ours but too open (made by hand?): closed before anything listens in it.
  if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700);
}

/** The directory for this process's socket: the first candidate whose socket path fits. */
export function controlDir(o: NodeControlOptions, name: string): string {
  const env = o.env ?? process.env;
  const candidates = [join(o.home, 'run')];
  if (env['XDG_RUNTIME_DIR']) candidates.push(join(env['XDG_RUNTIME_DIR'], 'skiff'));
  candidates.push(join(tmpdir(), `skiff-${process.getuid?.() ?? 'user'}`));
  const fit = candidates.find((d) => Buffer.byteLength(join(d, name)) <= MAX_SOCKET_PATH);
  if (!fit) throw new SkiffError('UNSUPPORTED', `no directory short enough for a control socket (tried ${candidates.join(', ')})`);
  return fit;
}

/** Removes the sockets of processes that are gone (their owners were killed). */
function sweep(dir: string): void {
  for (const name of readdirSync(dir)) {
    const m = /^(\d+)-[0-9a-f]+\.sock$/.exec(name);
    if (m && Number(m[1]) !== process.pid && checkPid(Number(m[1]), undefined) === 'gone') rmSync(join(dir, name), { force: true });
  }
}

export class NodeControlPlane implements ControlPlane {
  readonly self: Owner;
  private server?: Promise<Server>;
  private path?: string;
  private readonly onExit = () => { if (this.path) rmSync(this.path, { force: true }); };

  constructor(private readonly options: NodeControlOptions) {
    const start = processStart('self');
    this.self = { session: randomHex(16), pid: process.pid, ...(start ? { start } : {}) };
  }

  serve(target: ControlTarget): Promise<Owner> {
    this.server ??= (async () => {
      const name = `${process.pid}-${this.self.session}.sock`;
      const dir = controlDir(this.options, name);
      ensurePrivateDir(dir);
      sweep(dir);
      const path = join(dir, name);
      const server = await listenControl(path, target, { session: this.self.session, pid: process.pid });
      this.path = path;
      this.self.control = path;
      process.once('exit', this.onExit);
      return server;
    })();
    this.server.catch(() => (this.server = undefined));
    return this.server.then(() => ({ ...this.self }));
  }

  alive(owner: Owner): boolean {
    if (owner.session === this.self.session) return true;
    if (owner.pid === undefined) return false; // a page: unreachable from here
    const v = checkPid(owner.pid, owner.start);
    return v === 'same' || v === 'unknown';
  }

  async connect(owner: Owner, id: string): Promise<RemoteOwner | undefined> {
    if (!owner.control || !this.alive(owner)) return undefined;
    try {
      return await connectOwner(owner, id, this.options.helloTimeoutMs);
    } catch {
      return undefined;
    }
  }

  killOwner(owner: Owner): boolean {
    if (owner.pid === undefined || owner.pid === process.pid || checkPid(owner.pid, owner.start) !== 'same') return false;
    try {
      process.kill(owner.pid, 'SIGKILL');
      return true;
    } catch {
      return false;
    }
  }

  close(): void {
    const s = this.server;
    this.server = undefined;
    void s?.then((srv) => srv.close(), () => {});
    this.onExit();
    process.off('exit', this.onExit);
    this.path = undefined;
    delete this.self.control;
  }
}
