/** The HTTP answer parser behind the page's port route: lengths, chunks, until-close, garbage. */
import { describe, expect, it } from 'vitest';
import { parseResponse } from '../../src/net/http-port.ts';

const te = new TextEncoder();
const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe('parseResponse', () => {
  it('reads Content-Length, chunked and until-close bodies, and drops hop-by-hop headers', () => {
    const a = parseResponse(te.encode('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\n\r\nhelloEXTRA'));
    expect([a.status, a.statusText, text(a.body)]).toEqual([200, 'OK', 'hello']);
    expect(a.headers).toContainEqual(['X-A', '1']);
    const c = parseResponse(te.encode('HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4;x=y\r\ndefg\r\n0\r\n\r\n'));
    expect([c.status, text(c.body)]).toEqual([201, 'abcdefg']);
    expect(c.headers.map(([k]) => k.toLowerCase())).not.toContain('transfer-encoding');
    const u = parseResponse(te.encode('HTTP/1.0 404 Not Found\r\nConnection: close\r\n\r\nno such page'));
    expect([u.status, text(u.body), u.headers]).toEqual([404, 'no such page', []]);
  });

  it('refuses what is not HTTP with a clear error', () => {
    expect(() => parseResponse(te.encode('SSH-2.0-OpenSSH\r\n'))).toThrow(/no complete HTTP header/);
    expect(() => parseResponse(te.encode('hello\r\n\r\n'))).toThrow(/no HTTP status line/);
  });
});
