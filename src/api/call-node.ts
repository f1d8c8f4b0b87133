/**
 * The Node transports of a Call: a request answered through Node's ServerResponse, and one that
 * came with `Upgrade: tcp` (Node hands over the raw socket; the HTTP is written here).
 */
import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { CallBase, enc, type Base, type StreamWriter } from './call.ts';

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
  private get reqStream(): AsyncIterable<Uint8Array> { return (this.res as unknown as { req: AsyncIterable<Uint8Array> }).req; }
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
