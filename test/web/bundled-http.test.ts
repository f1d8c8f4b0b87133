/**
 * web/worker/bundled-http: a bundled image is fetched from the site and checked against the
 * sha256 its manifest lists (crypto.subtle where there is one); a file that disagrees is refused
 * with DIGEST_MISMATCH naming the image, never handed to the loader.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { httpBundled } from '../../src/web/worker/bundled-http.ts';

const BASE = 'http://site.test/';
const TAR = new TextEncoder().encode('pretend this is an image archive');
const hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function site(served: Uint8Array, listed: string): typeof fetch {
  const files: Record<string, Uint8Array | string> = {
    'vm-images/images/dist/manifest.json': JSON.stringify([{ name: 'skiff/busybox:latest', file: 'busybox.tar', sha256: listed, platform: { os: 'linux' } }]),
    'vm-images/images/dist/busybox.tar': served,
  };
  return (async (url: URL | string) => {
    const body = files[String(url).slice(BASE.length)];
    return body === undefined ? new Response('no', { status: 404 }) : new Response(body as BodyInit);
  }) as typeof fetch;
}

describe('httpBundled', () => {
  it('hands over an image whose bytes hash to the listed sha256 (with or without the prefix)', async () => {
    for (const listed of [hex(TAR), `sha256:${hex(TAR)}`]) {
      const got = await httpBundled(BASE, site(TAR, listed)).find('docker.io/skiff/busybox:latest');
      expect(got?.name).toBe('busybox.tar');
      expect(new Uint8Array(got!.data)).toEqual(TAR);
    }
  });

  it('refuses a file that does not match its manifest, naming the image and both digests', async () => {
    const tampered = TAR.slice();
    tampered[0]! ^= 1;
    const err = await httpBundled(BASE, site(tampered, hex(TAR))).find('docker.io/skiff/busybox:latest').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'DIGEST_MISMATCH' });
    expect((err as Error).message).toContain('skiff/busybox:latest');
    expect((err as Error).message).toContain(`sha256:${hex(tampered)}`);
    expect((err as Error).message).toContain(`sha256:${hex(TAR)}`);
  });

  it('answers undefined for an image the site does not bundle', async () => {
    expect(await httpBundled(BASE, site(TAR, hex(TAR))).find('docker.io/library/alpine:latest')).toBeUndefined();
  });
});
