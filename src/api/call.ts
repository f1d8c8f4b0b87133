/**
 * One API request as a handler sees it: path parameters, the query, the body (bytes, JSON or a
 * stream), and ways to answer (JSON, a streamed body, or a hijacked connection for attach and
 * exec). Transports implement it: Node's http server (call-node.ts: a normal request, and one
 * that came with `Upgrade: tcp`) and the fetch API (fetch.ts: pages, service workers).
 */
import type { Duplex } from 'node:stream';
import { badRequest } from './errors.ts';

export type RequestHeaders = Record<string, string | string[] | undefined>;

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
  readonly headers: RequestHeaders;
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

export const enc = new TextEncoder();

export function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.byteLength; }
  return out;
}


export interface Base {
  method: string; path: string; params: Record<string, string>; query: URLSearchParams; version: string; headers: RequestHeaders;
  /** Sent with every answer (API-Version, OSType ...). */
  replyHeaders: Record<string, string>;
}

export abstract class CallBase implements Call {
  readonly method: string;
  readonly path: string;
  readonly params: Record<string, string>;
  readonly query: URLSearchParams;
  readonly version: string;
  readonly headers: RequestHeaders;
  #aborted = false;
  readonly #onAbort: Array<() => void> = [];
  constructor(b: Base) {
    this.method = b.method; this.path = b.path; this.params = b.params; this.query = b.query; this.version = b.version; this.headers = b.headers;
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
    return concatBytes(parts);
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

