/**
 * Where `skiff system serve` listens: a Unix socket private to the user (default
 * $SKIFF_HOME/docker.sock) or TCP on loopback only. The socket is created inside a fresh 0700
 * directory and renamed into place, so no other user can connect to it even for an instant;
 * the rename is atomic, so a client never sees a half-made socket.
 */
import { chmod, mkdir, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import type { Server } from 'node:http';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { SkiffError } from '../errors.ts';

export type ListenAddress = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** `unix:///path`, `tcp://127.0.0.1:2375` (loopback only), or a bare path. */
export function parseListenAddress(raw: string): ListenAddress {
  if (raw.startsWith('unix://')) {
    const path = raw.slice('unix://'.length);
    if (!path.startsWith('/')) throw new SkiffError('INVALID_ARGUMENT', `invalid --host "${raw}": the socket path must be absolute (unix:///path/to/docker.sock)`);
    return { kind: 'unix', path };
  }
  if (raw.startsWith('tcp://')) {
    const m = /^tcp:\/\/(\[[^\]]+\]|[^:/]+):(\d+)\/?$/.exec(raw);
    if (!m) throw new SkiffError('INVALID_ARGUMENT', `invalid --host "${raw}": expected tcp://127.0.0.1:PORT`);
    const host = m[1]!;
    if (!LOOPBACK.has(host)) throw new SkiffError('INVALID_ARGUMENT', `invalid --host "${raw}": skiff serves TCP on loopback only (127.0.0.1, ::1 or localhost): the API has no authentication`);
    const port = Number(m[2]);
    if (port > 65535) throw new SkiffError('INVALID_ARGUMENT', `invalid --host "${raw}": port ${port} is out of range`);
    return { kind: 'tcp', host: host.replace(/^\[|\]$/g, ''), port };
  }
  if (raw.startsWith('/')) return { kind: 'unix', path: raw };
  throw new SkiffError('INVALID_ARGUMENT', `invalid --host "${raw}": expected unix:///path or tcp://127.0.0.1:PORT`);
}

/** Whether something answers on the socket (a serve that is still running). */
function socketAlive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

/** Listen on `addr`; resolves with a description for the user ("unix:///..." or "tcp://..."). */
export async function listenOn(server: Server, addr: ListenAddress): Promise<string> {
  if (addr.kind === 'tcp') {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(addr.port, addr.host, () => { server.off('error', reject); resolve(); });
    });
    const a = server.address();
    const port = typeof a === 'object' && a ? a.port : addr.port;
    return `tcp://${addr.host.includes(':') ? `[${addr.host}]` : addr.host}:${port}`;
  }
  const dir = dirname(addr.path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const existing = await stat(addr.path).catch(() => undefined);
  if (existing) {
    if (!existing.isSocket()) throw new SkiffError('ALREADY_EXISTS', `${addr.path} exists and is not a socket: not replacing it`);
    if (await socketAlive(addr.path)) throw new SkiffError('CONFLICT', `${addr.path}: another server is listening there (is \`skiff system serve\` running already?)`);
  }
  const tmp = await mkdtemp(join(dir, '.docker-sock-'));
  await chmod(tmp, 0o700);
  const tmpSock = join(tmp, 'sock');
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(tmpSock, () => { server.off('error', reject); resolve(); });
    });
    await chmod(tmpSock, 0o600);
    await rename(tmpSock, addr.path);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  // Node unlinks the path it listened on when closing; the socket now lives elsewhere.
  server.once('close', () => void rm(addr.path, { force: true }).catch(() => {}));
  return `unix://${addr.path}`;
}
