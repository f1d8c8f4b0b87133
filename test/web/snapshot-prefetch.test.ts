/**
 * web/client/snapshot-prefetch: on a first visit the page downloads the site's VM snapshot for a
 * bundled Linux image and hands it to the worker under the key the worker computes; nothing for a
 * wasm image, nothing when IndexedDB holds a snapshot, one download per page. The worker's side
 * (browserMachineOptions pageSnapshot) serves those bytes instead of fetching the site's copy.
 */
import 'fake-indexeddb/auto';
import { createStore, set } from 'idb-keyval';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { defaultSnapshotKey } from '../../src/runtime/vm/snapshot-store.ts';
import { browserMachineOptions } from '../../src/browser.ts';

const BASE = 'http://site.test/skiff/';
const VM_MANIFEST = JSON.stringify({ v86: '0.5.462+test', cmdline: 'console=ttyS0', memoryMiB: 128, files: {} });
const KEY = defaultSnapshotKey(VM_MANIFEST, JSON.parse(VM_MANIFEST));
const STATE = new Uint8Array([7, 7, 7, 7]);

function site(): { fetch: typeof fetch; asked: string[] } {
  const asked: string[] = [];
  const files: Record<string, string | Uint8Array> = {
    'vm-images/images/dist/manifest.json': JSON.stringify([
      { name: 'skiff/busybox:latest', platform: { os: 'linux', architecture: '386' } },
      { name: 'skiff/hello-wasm:latest', platform: { os: 'wasi', architecture: 'wasm' } },
    ]),
    'vm-images/dist/manifest.json': VM_MANIFEST,
    [`vm-images/snapshots/${KEY}.state`]: STATE,
  };
  return {
    asked,
    fetch: (async (url: URL | string) => {
      const path = String(url).slice(BASE.length);
      asked.push(path);
      const body = files[path];
      return body === undefined ? new Response('no', { status: 404 }) : new Response(body as BodyInit);
    }) as typeof fetch,
  };
}

function fakeApi(): { calls: [string, string, number | null][]; api: Parameters<typeof import('../../src/web/client/snapshot-prefetch.ts').prefetchShippedSnapshot>[0] } {
  const calls: [string, string, number | null][] = [];
  return {
    calls,
    api: {
      snapshotFetching: async (key: string) => void calls.push(['fetching', key, null]),
      snapshotFetched: async (key: string, state: ArrayBuffer | null) => void calls.push(['fetched', key, state ? new Uint8Array(state)[0]! : null]),
    } as never,
  };
}

let n = 0;
beforeEach(() => {
  vi.resetModules();
  n++;
});

describe('prefetchShippedSnapshot', () => {
  it('downloads the snapshot for a bundled Linux image and hands it over under the worker key', async () => {
    const { prefetchShippedSnapshot } = await import('../../src/web/client/snapshot-prefetch.ts');
    const s = site();
    const { api, calls } = fakeApi();
    expect(await prefetchShippedSnapshot(api, { assetBase: BASE, dbPrefix: `t${n}`, image: 'skiff/busybox', fetch: s.fetch })).toBe('fetched');
    expect(calls).toEqual([['fetching', KEY, null], ['fetched', KEY, 7]]);
    expect(s.asked).toContain(`vm-images/snapshots/${KEY}.state`);
    // One download per page.
    expect(await prefetchShippedSnapshot(api, { assetBase: BASE, dbPrefix: `t${n}`, image: 'busybox', fetch: s.fetch })).toBe('busy');
  });

  it('fetches nothing for a wasm image; the manifests are read once per page', async () => {
    const { prefetchShippedSnapshot } = await import('../../src/web/client/snapshot-prefetch.ts');
    const s = site();
    const { api, calls } = fakeApi();
    for (const image of ['skiff/hello-wasm', 'hello-wasm', 'skiff/hello-wasm:latest']) {
      expect(await prefetchShippedSnapshot(api, { assetBase: BASE, dbPrefix: `t${n}`, image, fetch: s.fetch })).toBe('not-linux');
    }
    expect(calls).toEqual([]);
    expect(s.asked.sort()).toEqual(['vm-images/dist/manifest.json', 'vm-images/images/dist/manifest.json']);
  });

  it('fetches nothing when IndexedDB already holds a snapshot (a reload)', async () => {
    const { prefetchShippedSnapshot } = await import('../../src/web/client/snapshot-prefetch.ts');
    await set('vm-older', new ArrayBuffer(1), createStore(`t${n}-vm`, 'snapshots'));
    const s = site();
    const { api, calls } = fakeApi();
    expect(await prefetchShippedSnapshot(api, { assetBase: BASE, dbPrefix: `t${n}`, image: 'skiff/busybox', fetch: s.fetch })).toBe('stored');
    expect(calls).toEqual([]);
    expect(s.asked.some((p) => p.startsWith('vm-images/snapshots/'))).toBe(false);
  });

  it('a site without the file: the worker is told to fetch it itself', async () => {
    const { prefetchShippedSnapshot } = await import('../../src/web/client/snapshot-prefetch.ts');
    const s = site();
    const other = ((url: URL | string) => (String(url).includes('/snapshots/') ? Promise.resolve(new Response('no', { status: 404 })) : s.fetch(url))) as typeof fetch;
    const { api, calls } = fakeApi();
    expect(await prefetchShippedSnapshot(api, { assetBase: BASE, dbPrefix: `t${n}`, image: 'skiff/busybox', fetch: other })).toBe('failed');
    expect(calls).toEqual([['fetching', KEY, null], ['fetched', KEY, null]]);
  });
});

describe('browserMachineOptions pageSnapshot', () => {
  it("serves the page's bytes for a key IndexedDB lacks, and tries the site itself when the page got none", async () => {
    const page = new Map<string, Promise<ArrayBuffer | null>>([['vm-a', Promise.resolve(STATE.slice().buffer)], ['vm-b', Promise.resolve(null)]]);
    const m = browserMachineOptions({ assetBase: 'http://127.0.0.1:9/', dbPrefix: `pm${n}`, pageSnapshot: (k) => page.get(k) });
    expect(new Uint8Array((await m.snapshots!.get('vm-a'))!)).toEqual(STATE);
    // Nothing from the page: the site's copy is fetched (here nothing listens: a miss, not an error).
    expect(await m.snapshots!.get('vm-b')).toBeNull();
  });
});
