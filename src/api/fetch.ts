/**
 * The API as a fetch handler: `Request` in, `Response` out, no sockets. A page's code (or a
 * service worker serving `/_skiff/docker/...`) calls it with the URLs and bodies Docker's SDKs
 * send. Streamed answers (logs, attach, events, pull progress) are a ReadableStream body; there
 * is no connection to hijack, so attach and exec send output only (no stdin).
 */
import { CallBase, type Base, type StreamWriter } from './call.ts';
import { errorResponse } from './errors.ts';
import { apiRouter, type ApiOptions } from './routes.ts';
import { API_VERSION, Router } from './router.ts';

const REPLY_HEADERS: Record<string, string> = { 'API-Version': API_VERSION, 'OSType': 'linux', 'Docker-Experimental': 'false', 'Server': 'skiff' };

class FetchCall extends CallBase {
  readonly response: Promise<Response>;
  #resolve!: (r: Response) => void;
  #answered = false;
  #writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
  constructor(b: Base, private readonly request: Request) {
    super(b);
    this.response = new Promise((resolve) => (this.#resolve = resolve));
    request.signal?.addEventListener('abort', () => this.abort());
  }
  get answered(): boolean { return this.#answered; }
  async *bodyStream(): AsyncIterable<Uint8Array> {
    if (!this.request.body) return;
    const reader = this.request.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  }
  #answer(r: Response): void {
    if (this.#answered) return;
    this.#answered = true;
    this.#resolve(r);
  }
  send(status: number, value?: unknown): void {
    const headers = { ...REPLY_HEADERS, ...(value === undefined ? {} : { 'Content-Type': 'application/json' }) };
    // 204 and 304 carry no body.
    this.#answer(new Response(value === undefined || status === 204 || status === 304 ? null : JSON.stringify(value), { status, headers }));
  }
  begin(status: number, contentType: string, headers: Record<string, string> = {}): StreamWriter {
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const writer = writable.getWriter();
    this.#writer = writer;
    const enc = new TextEncoder();
    this.#answer(new Response(this.method === 'HEAD' ? null : readable, { status, headers: { ...REPLY_HEADERS, 'Content-Type': contentType, ...headers } }));
    // The reader going away ends the call (a page closing a logs stream).
    this.onAbort(() => void writer.abort().catch(() => {}));
    return {
      write: (c) => (this.aborted || this.method === 'HEAD' ? Promise.resolve() : writer.write(typeof c === 'string' ? enc.encode(c) : c).catch(() => this.abort())),
      end: () => void writer.close().catch(() => {}),
    };
  }
  hijack(contentType: string): StreamWriter {
    return this.begin(200, contentType);
  }
  /** A handler failed after its answer began: the body ends with an error the reader sees. */
  failStream(err: unknown): void {
    void this.#writer?.abort(err).catch(() => {});
  }
}

/** `(request) => response` over the engine: every route of the Node server (routes.ts). */
export function apiFetchHandler(o: ApiOptions): (request: Request) => Promise<Response> {
  const router = apiRouter(o);
  return async (request) => {
    const url = new URL(request.url);
    const method = request.method.toUpperCase();
    const fail = (err: unknown): Response => {
      const { status, message } = errorResponse(err);
      return new Response(JSON.stringify({ message }), { status, headers: { ...REPLY_HEADERS, 'Content-Type': 'application/json' } });
    };
    let call: FetchCall;
    try {
      // A prefix before the API path (a service worker's "/_skiff/docker") is the caller's to strip.
      const { path, version } = Router.version(url.pathname);
      const { handler, params } = router.match(method, path);
      const headers: Record<string, string> = {};
      request.headers.forEach((v, k) => (headers[k] = v));
      call = new FetchCall({ method, path, params, query: url.searchParams, version, headers, replyHeaders: REPLY_HEADERS }, request);
      const done = handler(call).then(
        () => { if (!call.answered) call.send(204); },
        (err: unknown) => {
          if (call.answered) return call.failStream(err);
          const { status, message } = errorResponse(err);
          call.send(status, { message });
        },
      );
      void done;
    } catch (err) {
      return fail(err);
    }
    return call.response;
  };
}
