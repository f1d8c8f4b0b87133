/**
 * The Docker Engine API over Node's http module: `createApiServer({ engine })` gives a server
 * to listen on (see listen.ts for the socket); requests go through the routing table
 * (router.ts) to handlers over the Engine facade. Every error becomes Docker's JSON
 * `{"message": ...}` with Docker's status, and every request is answered: an endpoint skiff
 * does not serve gets 501 naming it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Call } from './call.ts';
import { HttpCall, UpgradeCall } from './call-node.ts';
import { errorResponse } from './errors.ts';
import { API_VERSION, Router } from './router.ts';
import { apiRouter, type ApiOptions } from './routes.ts';
import { goArch } from './system.ts';
import { arch, cpus, hostname, release, totalmem } from 'node:os';

export interface ApiServerOptions extends ApiOptions {
  /** Called for every request that failed with a 5xx (logging). */
  onError?(err: unknown, method: string, path: string): void;
  /** One line per request (method, path, status), for `serve --debug`. */
  log?(line: string): void;
}

export const REPLY_HEADERS = {
  'API-Version': API_VERSION,
  'OSType': 'linux',
  'Docker-Experimental': 'false',
  'Server': 'skiff (linux)',
};

export function createApiServer(o: ApiServerOptions): Server {
  const router = apiRouter({
    ...o,
    host: o.host ?? { arch: goArch(arch()), ncpu: cpus().length, memTotal: totalmem(), hostname: hostname(), kernel: release(), runtime: `node ${process.version}` },
  });
  const server = createServer();

  async function dispatch(req: IncomingMessage, make: (b: ConstructorParameters<typeof HttpCall>[0]) => Call, fail: (status: number, message: string) => void): Promise<void> {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://docker');
    let call: Call | undefined;
    try {
      const { path, version } = Router.version(url.pathname);
      const { handler, params } = router.match(method, path);
      call = make({ method, path, params, query: url.searchParams, version, headers: req.headers, replyHeaders: REPLY_HEADERS });
      await handler(call);
    } catch (err) {
      const { status, message } = errorResponse(err);
      if (status >= 500 && status !== 501) o.onError?.(err, method, url.pathname);
      o.log?.(`${method} ${url.pathname} -> ${status} ${message}`);
      if (call) call.send(status, { message });
      else fail(status, message);
    }
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    o.log?.(`${req.method} ${req.url}`);
    void dispatch(req, (b) => new HttpCall(b, res), (status, message) => {
      for (const [k, v] of Object.entries(REPLY_HEADERS)) res.setHeader(k, v);
      const body = JSON.stringify({ message });
      res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }).end(body);
    });
  });

  // `Upgrade: tcp` (attach, exec start): Node hands over the socket; the handler hijacks it.
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    o.log?.(`${req.method} ${req.url} (upgrade)`);
    socket.on('error', () => {});
    void dispatch(req, (b) => new UpgradeCall(b, socket, head), (status, message) => {
      const body = JSON.stringify({ message });
      const headers = { ...REPLY_HEADERS, 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)), Connection: 'close' };
      socket.end(`HTTP/1.1 ${status} ${status === 404 ? 'Not Found' : 'Error'}\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n${body}`);
    });
  });
  return server;
}
