/**
 * The API as a fetch handler (what a page or service worker calls): the same routes over an
 * in-process engine, Request in, Response out; docker run's sequence with the attach stream as
 * a framed response body.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { apiFetchHandler, FrameReader } from '../../src/api/index.ts';
import { openEngine, type Engine } from '../../src/node.ts';

let dir: string;
let engine: Engine;
let api: (r: Request) => Promise<Response>;
const url = (p: string) => `http://skiff.local${p}`;
const post = (p: string, body?: unknown) => api(new Request(url(p), { method: 'POST', ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } } : {}) }));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-api-fetch-'));
  engine = await openEngine({ home: dir });
  api = apiFetchHandler({ engine, home: dir });
});

afterAll(async () => {
  await engine?.shutdown();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('answers /_ping with Docker\'s headers, errors as Docker\'s JSON', async () => {
  const ping = await api(new Request(url('/_ping')));
  expect(ping.status).toBe(200);
  expect(await ping.text()).toBe('OK');
  expect(ping.headers.get('api-version')).toBe('1.43');
  expect(ping.headers.get('ostype')).toBe('linux');
  const missing = await api(new Request(url('/v1.43/containers/nosuch/json')));
  expect(missing.status).toBe(404);
  expect(await missing.json()).toEqual({ message: 'No such container: nosuch' });
  // A missing network is the engine's NOT_FOUND passed through by its code, not by its wording.
  const noNet = await api(new Request(url('/v1.43/networks/nosuchnet')));
  expect(noNet.status).toBe(404);
  expect(await noNet.json()).toEqual({ message: 'network nosuchnet not found' });
  expect((await api(new Request(url('/v1.43/networks/nosuchnet'), { method: 'DELETE' }))).status).toBe(404);
  const unimpl = await post('/v1.43/swarm/init', {});
  expect(unimpl.status).toBe(501);
  expect((await unimpl.json()).message).toBe('skiff does not implement POST /swarm/init');
  const bad = await post('/v1.43/containers/create', { Image: 'skiff/hello-wasm', HostConfig: { PidsLimit: 'many' } });
  expect(bad.status).toBe(400);
  expect((await bad.json()).message).toContain('HostConfig.PidsLimit');
});

it('runs a container as docker run does: create, attach (framed body), wait, start, remove', async () => {
  const created = await post('/v1.43/containers/create?name=fetched', { Image: 'skiff/hello-wasm', Env: ['GREETING=from fetch'] });
  expect(created.status).toBe(201);
  const { Id } = await created.json() as { Id: string };
  const attach = await post(`/v1.43/containers/${Id}/attach?stream=1&stdout=1&stderr=1`);
  expect(attach.headers.get('content-type')).toBe('application/vnd.docker.multiplexed-stream');
  const waited = post(`/v1.43/containers/${Id}/wait?condition=next-exit`);
  expect((await post(`/v1.43/containers/${Id}/start`)).status).toBe(204);
  const frames = new FrameReader();
  let out = '';
  for await (const chunk of attach.body! as unknown as AsyncIterable<Uint8Array>) {
    for (const f of frames.push(chunk)) if (f.kind === 'stdout') out += new TextDecoder().decode(f.data);
  }
  expect(out).toContain('Hello from WebAssembly!');
  expect(out).toContain('GREETING=from fetch');
  expect(await (await waited).json()).toEqual({ StatusCode: 0, Error: null });
  const inspect = await (await api(new Request(url(`/containers/fetched/json`)))).json() as { State: { Status: string; ExitCode: number }; Name: string };
  expect(inspect).toMatchObject({ Name: '/fetched', State: { Status: 'exited', ExitCode: 0 } });
  const logs = await api(new Request(url(`/containers/${Id}/logs?stdout=1&tail=1`)));
  const last = new FrameReader().push(new Uint8Array(await logs.arrayBuffer()));
  expect(last).toHaveLength(1);
  expect((await api(new Request(url(`/containers/${Id}`), { method: 'DELETE' }))).status).toBe(204);
  expect((await api(new Request(url(`/containers/${Id}/json`)))).status).toBe(404);
}, 120_000);
