/**
 * The registry tests' servers: Debian's real `docker-registry` (distribution 2.8) on a loopback
 * port, seeded with `skopeo copy`; a byte-level HTTP proxy in front of it that can flip a byte of a
 * blob or cut a connection mid-blob; and a token server that behaves like Docker Hub's
 * (auth.docker.io): a registry configured with `auth: token` checks the JWTs it signs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSign, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as netServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../helpers/exec.ts';
import { requireTool } from '../helpers/peers.ts';

export interface Running {
  /** "127.0.0.1:PORT" (or the address it was started on) */
  host: string;
  port: number;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = netServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitReady(url: string, proc: ChildProcess, log: () => string, tls = false): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`docker-registry exited (${proc.exitCode}): ${log()}`);
    try {
      const res = await fetch(url);
      await res.body?.cancel();
      // A TLS server answers plain HTTP with 400: it is up.
      if (res.status === 200 || res.status === 401 || (tls && res.status === 400)) return;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`docker-registry did not answer at ${url}: ${log()}`);
}

export interface RegistryOptions {
  /** `auth: token` section: the registry checks JWTs signed by `issuer` for `realm`. */
  token?: { realm: string; service: string; issuer: string; certFile: string };
  /** Serve HTTPS with this certificate and key (htpasswd auth wants TLS). */
  tls?: { certFile: string; keyFile: string };
  /** `auth: htpasswd` with this file (bcrypt entries). */
  htpasswd?: string;
  /** The address to listen on (default 127.0.0.1). */
  addr?: string;
}

/** The real registry, its storage in a temporary directory removed at stop. */
export async function startRegistry(opts: RegistryOptions = {}): Promise<Running> {
  const bin = requireTool('docker-registry', 'docker-registry');
  const dir = mkdtempSync(join(tmpdir(), 'skiff-registry-'));
  const port = await freePort();
  const addr = opts.addr ?? '127.0.0.1';
  const auth = opts.token
    ? `auth: {token: {realm: "${opts.token.realm}", service: "${opts.token.service}", issuer: "${opts.token.issuer}", rootcertbundle: "${opts.token.certFile}"}}\n`
    : opts.htpasswd ? `auth: {htpasswd: {realm: "skiff-test", path: "${opts.htpasswd}"}}\n` : '';
  const tls = opts.tls ? `, tls: {certificate: "${opts.tls.certFile}", key: "${opts.tls.keyFile}"}` : '';
  writeFileSync(join(dir, 'config.yml'), `version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: ${join(dir, 'data')}}, delete: {enabled: true}}
http: {addr: ${addr}:${port}${tls}}
${auth}`);
  let out = '';
  const proc = spawn(bin, ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout!.on('data', (d) => { out += d; });
  proc.stderr!.on('data', (d) => { out += d; });
  await waitReady(`http://${addr}:${port}/v2/`, proc, () => out, opts.tls !== undefined);
  return {
    host: `${addr}:${port}`, port,
    async stop() {
      if (proc.exitCode === null) {
        const gone = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await gone;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `skopeo copy` into the registry (plain HTTP: it is on loopback). */
export function skopeoCopy(src: string, dest: string, extra: string[] = []): void {
  requireTool('skopeo', 'skopeo');
  run('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', ...extra, src, dest]);
}

export function skopeoInspect(ref: string, raw = false): string {
  requireTool('skopeo', 'skopeo');
  return run('skopeo', ['inspect', '--tls-verify=false', ...(raw ? ['--raw'] : []), `docker://${ref}`]);
}

export interface Proxy extends Running {
  /** Requests seen, "METHOD path". */
  log: string[];
  /** Flip one byte in the body of the next GET of this blob (by digest). */
  corrupt: Set<string>;
  /** Cut the connection after this many body bytes of the next GET of this blob. */
  cut: Map<string, number>;
  /** Answer this many 503s before passing requests through. */
  fail503: number;
  /** Drop the Range header of the next ranged GET of this blob (the whole blob comes, 200). */
  ignoreRange: Set<string>;
}

/** An HTTP proxy in front of `target` that tampers with blob bodies on demand. */
export async function startProxy(target: Running): Promise<Proxy> {
  const p: Proxy = {
    host: '', port: 0, log: [], corrupt: new Set(), cut: new Map(), fail503: 0, ignoreRange: new Set(),
    stop: async () => {},
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    p.log.push(`${req.method} ${req.url}${req.headers.range ? ` ${req.headers.range}` : ''}`);
    if (p.fail503 > 0) {
      p.fail503--;
      res.writeHead(503, { 'retry-after': '0' }).end();
      return;
    }
    const digest = /\/blobs\/(sha256:[0-9a-f]{64})$/.exec(req.url ?? '')?.[1];
    const flip = req.method === 'GET' && digest !== undefined && p.corrupt.delete(digest);
    const cutAt = req.method === 'GET' && digest !== undefined ? p.cut.get(digest) : undefined;
    if (cutAt !== undefined) p.cut.delete(digest!);
    const headers = { ...req.headers };
    if (req.method === 'GET' && digest !== undefined && headers.range && p.ignoreRange.delete(digest)) delete headers.range;
    const up = httpRequest({ host: '127.0.0.1', port: target.port, method: req.method, path: req.url, headers }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      let sent = 0;
      ur.on('data', (chunk: Buffer) => {
        if (sent === Infinity) return;
        let c = chunk;
        if (flip && sent === 0 && c.length > 0) {
          c = Buffer.from(c);
          c[Math.min(10, c.length - 1)]! ^= 0xff;
        }
        if (cutAt !== undefined && sent + c.length > cutAt) {
          ur.destroy();
          // Cut once what came before the cut is on the wire.
          res.write(c.subarray(0, cutAt - sent), () => setTimeout(() => res.socket?.destroy(), 20));
          sent = Infinity;
          return;
        }
        sent += c.length;
        res.write(c);
      });
      ur.on('end', () => { if (sent !== Infinity) res.end(); });
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  p.port = (server.address() as AddressInfo).port;
  p.host = `127.0.0.1:${p.port}`;
  p.stop = () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); });
  return p;
}

function b64url(b: Buffer | string): string {
  return Buffer.from(b).toString('base64url');
}

export interface TokenServer extends Running {
  realm: string;
  service: string;
  issuer: string;
  certFile: string;
  /** Token requests seen: their scope parameters and whether Basic credentials came. */
  requests: Array<{ scopes: string[]; user?: string }>;
  /** username -> password that the server accepts; anonymous gets pull only on `publicRepos`. */
  users: Map<string, string>;
  publicRepos: Set<string>;
  expiresIn: number;
}

/**
 * Docker Hub's token service, as far as a client sees it: GET realm?service=&scope=... with or
 * without Basic credentials, a JSON `{token, access_token, expires_in, issued_at}` answer whose JWT
 * (RS256, x5c chain) grants per repository what the caller may do; bad credentials get 401.
 */
export async function startTokenServer(): Promise<TokenServer> {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-token-'));
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  requireTool('openssl', 'openssl');
  run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=skiff-test-token']);
  const key = readFileSync(keyFile, 'utf8');
  const certPem = readFileSync(certFile, 'utf8');
  const der = new X509Certificate(certPem).raw;
  const t: TokenServer = {
    host: '', port: 0, realm: '', service: 'skiff-test-registry', issuer: 'skiff-test-issuer', certFile,
    requests: [], users: new Map(), publicRepos: new Set(), expiresIn: 300,
    stop: async () => {},
  };
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const scopes = url.searchParams.getAll('scope');
    let user: string | undefined;
    const authz = req.headers.authorization;
    if (authz?.startsWith('Basic ')) {
      const [u, ...rest] = Buffer.from(authz.slice(6), 'base64').toString().split(':');
      if (t.users.get(u!) !== rest.join(':')) {
        t.requests.push({ scopes, user: u! });
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"incorrect username or password"}');
        return;
      }
      user = u;
    }
    t.requests.push({ scopes, ...(user ? { user } : {}) });
    const access = scopes.flatMap((s) => {
      const [type, ...mid] = s.split(':');
      const actions = mid.pop()!.split(',');
      const name = mid.join(':');
      const granted = user ? actions : t.publicRepos.has(name) ? actions.filter((a) => a === 'pull') : [];
      return granted.length ? [{ type, name, actions: granted }] : [];
    });
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: 'RS256', typ: 'JWT', x5c: [der.toString('base64')] };
    const claims = { iss: t.issuer, sub: user ?? '', aud: url.searchParams.get('service') ?? '', exp: now + t.expiresIn, nbf: now - 10, iat: now, jti: Math.random().toString(36).slice(2), access };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const sig = createSign('RSA-SHA256').update(input).sign(key);
    const token = `${input}.${b64url(sig)}`;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, access_token: token, expires_in: t.expiresIn, issued_at: new Date(now * 1000).toISOString() }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.port = (server.address() as AddressInfo).port;
  t.host = `127.0.0.1:${t.port}`;
  t.realm = `http://${t.host}/token`;
  t.stop = () => new Promise((r) => { server.closeAllConnections(); server.close(() => { rmSync(dir, { recursive: true, force: true }); r(); }); });
  return t;
}

/** A test CA and a server certificate for 127.0.0.1 signed by it (openssl). */
export function makeTls(dir: string): { caFile: string; certFile: string; keyFile: string } {
  requireTool('openssl', 'openssl');
  const f = (n: string): string => join(dir, n);
  run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', '/CN=skiff test CA']);
  run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=127.0.0.1']);
  writeFileSync(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  run('openssl', ['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('server.pem'), '-days', '2', '-extfile', f('ext.cnf')]);
  return { caFile: f('ca.pem'), certFile: f('server.pem'), keyFile: f('server.key') };
}

/** An htpasswd file with bcrypt entries (python3's crypt, as `htpasswd -B` would write). */
export function makeHtpasswd(file: string, users: Record<string, string>): void {
  const lines = Object.entries(users).map(([u, p]) =>
    `${u}:${run('python3', ['-W', 'ignore', '-c', 'import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH)))', p]).trim()}`);
  writeFileSync(file, `${lines.join('\n')}\n`);
}
