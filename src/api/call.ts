/**
 * One API request as a handler sees it: path parameters, the query, the body (bytes, JSON or a
 * stream), and ways to answer (JSON, a streamed body, or a hijacked connection for attach and
 * exec). Two transports sit under it: a normal request (Node's ServerResponse) and one that came
 * with `Upgrade: tcp` (Node hands over the raw socket; we write the HTTP ourselves).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { badRequest } from './errors.ts';

export interface StreamWriter {
  /** Resolves when the peer took the chunk (backpressure); never rejects. */
  write(chunk: Uint8Array | string): Promise<void>;
  end(): void;
}

export interface Call {
  readonly method: string;
  /** Without the /v1.xx prefix. */
  readonly path: string;
  readonly params: Record<string, string>;
  readonly query: URLSearchParams;
  readonly headers: IncomingMessage['headers'];
  /** The API version the client asked for (its path prefix), or the server's own. */
  readonly version: string;
  body(): Promise<Uint8Array>;
  /** The body parsed as JSON (an empty body is `{}`); a 400 naming the problem otherwise. */
  json<T = Record<string, unknown>>(): Promise<T>;
  bodyStream(): AsyncIterable<Uint8Array>;
  send(status: number, value?: unknown): void;
  begin(status: number, contentType: string, headers?: Record<string, string>): StreamWriter;
  /** Take over the connection (101 UPGRADED when asked for); stdin arrives on the returned socket. */
  hijack(contentType: string): Duplex | StreamWriter;
  /** Whether the client went away. */
  readonly aborted: boolean;
  onAbort(f: () => void): void;
}

const enc = new TextEncoder();

function writeTo(stream: NodeJS.WritableStream, chunk: Uint8Array | string): Promise<void> {
  return new Promise((resolve) => {
    const ok = stream.write(typeof chunk === 'string' ? enc.encode(chunk) : chunk);
    if (ok) resolve();
    else {
      const done = () => { stream.off('drain', done); stream.off('close', done); resolve(); };
      stream.on('drain', done);
      stream.on('close', done);
    }
  });
}

interface Base {
  method: string; path: string; params: Record<string, string>; query: URLSearchParams; version: string; req: IncomingMessage;
  /** Sent with every answer (API-Version, OSType ...). */
  replyHeaders: Record<string, string>;
}

abstract class CallBase implements Call {
  readonly method: string;
  readonly path: string;
  readonly params: Record<string, string>;
  readonly query: URLSearchParams;
  readonly version: string;
  readonly headers: IncomingMessage['headers'];
  #aborted = false;
  readonly #onAbort: Array<() => void> = [];
  constructor(b: Base) {
    this.method = b.method; this.path = b.path; this.params = b.params; this.query = b.query; this.version = b.version; this.headers = b.req.headers;
  }
  get aborted(): boolean { return this.#aborted; }
  protected abort(): void {
    if (this.#aborted) return;
    this.#aborted = true;
    for (const f of this.#onAbort.splice(0)) f();
  }
  onAbort(f: () => void): void {
    if (this.#aborted) f();
    else this.#onAbort.push(f);
  }
  abstract bodyStream(): AsyncIterable<Uint8Array>;
  async body(): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    for await (const c of this.bodyStream()) parts.push(c);
    return Buffer.concat(parts);
  }
  async json<T>(): Promise<T> {
    const text = new TextDecoder().decode(await this.body()).trim();
    if (!text) return {} as T;
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw badRequest(`invalid JSON in the request body: ${(err as Error).message}`);
    }
  }
  abstract send(status: number, value?: unknown): void;
  abstract begin(status: number, contentType: string, headers?: Record<string, string>): StreamWriter;
  abstract hijack(contentType: string): Duplex | StreamWriter;
}

/** A request answered through Node's ServerResponse. */
export class HttpCall extends CallBase {
  constructor(b: Base, private readonly res: ServerResponse) {
    super(b);
    for (const [k, v] of Object.entries(b.replyHeaders)) res.setHeader(k, v);
    res.on('close', () => this.abort());
  }
  bodyStream(): AsyncIterable<Uint8Array> {
    return this.#req();
  }
  async *#req(): AsyncIterable<Uint8Array> {
    for await (const c of this.reqStream) yield c as Uint8Array;
  }
  private get reqStream(): IncomingMessage { return (this.res as unknown as { req: IncomingMessage }).req; }
  send(status: number, value?: unknown): void {
    if (this.res.headersSent) return void this.res.end();
    if (value === undefined) {
      this.res.writeHead(status).end();
      return;
    }
    const body = JSON.stringify(value);
    this.res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }).end(body);
  }
  begin(status: number, contentType: string, headers: Record<string, string> = {}): StreamWriter {
    this.res.writeHead(status, { 'Content-Type': contentType, ...headers });
    this.res.flushHeaders();
    return { write: (c) => (this.aborted ? Promise.resolve() : writeTo(this.res, c)), end: () => this.res.end() };
  }
  /** Without an Upgrade header: the output as a streamed body (no stdin). */
  hijack(contentType: string): StreamWriter {
    return this.begin(200, contentType);
  }
}

const REASONS: Record<number, string> = { 101: 'UPGRADED', 200: 'OK', 201: 'Created', 204: 'No Content', 304: 'Not Modified', 400: 'Bad Request', 404: 'Not Found', 409: 'Conflict', 500: 'Internal Server Error', 501: 'Not Implemented' };

/** A request that came with `Upgrade: tcp`: the raw socket, its body read by Content-Length. */
export class UpgradeCall extends CallBase {
  #bodyRead = false;
  readonly #extra: Record<string, string>;
  constructor(b: Base, private readonly socket: Duplex, private head: Buffer) {
    super(b);
    this.#extra = b.replyHeaders;
    socket.on('close', () => this.abort());
    socket.on('error', () => this.abort());
  }
  async *bodyStream(): AsyncIterable<Uint8Array> {
    if (this.#bodyRead) return;
    this.#bodyRead = true;
    let left = Number(this.headers['content-length'] ?? 0);
    let buf = this.head;
    this.head = Buffer.alloc(0);
    while (left > 0) {
      if (buf.length === 0) buf = await new Promise<Buffer>((resolve) => {
        const onData = (c: Buffer) => { this.socket.off('end', onEnd); this.socket.pause(); resolve(c); };
        const onEnd = () => { this.socket.off('data', onData); resolve(Buffer.alloc(0)); };
        this.socket.once('data', onData);
        this.socket.once('end', onEnd);
        this.socket.resume();
      });
      if (buf.length === 0) return;
      const take = buf.subarray(0, left);
      left -= take.length;
      yield take;
      buf = buf.subarray(take.length);
    }
    // What follows the body is the client's stdin: give it back to the socket.
    if (buf.length) this.socket.unshift(buf);
  }
  #head(status: number, headers: Record<string, string | number>): void {
    const lines = [`HTTP/1.1 ${status} ${REASONS[status] ?? ''}`, ...Object.entries({ ...this.#extra, ...headers }).map(([k, v]) => `${k}: ${v}`)];
    this.socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  }
  send(status: number, value?: unknown): void {
    const body = value === undefined ? '' : JSON.stringify(value);
    this.#head(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), Connection: 'close' });
    this.socket.end(body);
  }
  begin(status: number, contentType: string, headers: Record<string, string> = {}): StreamWriter {
    this.#head(status, { 'Content-Type': contentType, Connection: 'close', ...headers });
    return { write: (c) => (this.aborted ? Promise.resolve() : writeTo(this.socket, c)), end: () => this.socket.end() };
  }
  hijack(contentType: string): Duplex {
    this.#head(101, { 'Content-Type': contentType, Connection: 'Upgrade', Upgrade: 'tcp' });
    if (this.head.length) this.socket.unshift(this.head);
    this.head = Buffer.alloc(0);
    return this.socket;
  }
}
