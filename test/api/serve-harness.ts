/**
 * `skiff system serve` in a child process over a temporary $SKIFF_HOME, and the real `docker`
 * client (Debian's docker.io; its daemon is never started) pointed at it: what the API suites
 * share. `useServe()` starts it before the file's tests and stops it after.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { requireTool } from '../helpers/peers.ts';

export interface Result { code: number; stdout: string; stderr: string }

export const root = join(import.meta.dirname, '..', '..');
const bin = join(root, 'bin', 'skiff.js');

export function runTool(cmd: string, args: string[], env: Record<string, string>, o: { input?: string; cwd?: string } = {}): Promise<Result> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { env: { ...process.env, ...env }, ...(o.cwd ? { cwd: o.cwd } : {}), maxBuffer: 64 << 20, timeout: 90_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0, stdout, stderr });
    });
    if (o.input !== undefined) child.stdin!.end(o.input);
  });
}

export interface Served {
  /** The temporary directory (cwd of the tools), $SKIFF_HOME under it, the socket in that. */
  dir: string;
  home: string;
  sock: string;
  docker: string;
  dockerEnv(): Record<string, string>;
  d(...args: string[]): Promise<Result>;
  dIn(input: string, ...args: string[]): Promise<Result>;
  skiff(...args: string[]): Promise<Result>;
  /** A raw request on the socket: status and parsed JSON body. */
  api(method: string, path: string, body?: string): Promise<{ status: number; json: { message?: string } & Record<string, unknown> }>;
  /** Kills the server (SIGTERM) and waits for it; `startAgain()` serves the same home anew. */
  stop(): Promise<void>;
  startAgain(): Promise<void>;
  /** The serving process's pid (for its memory use). */
  pid(): number;
}

export function useServe(prefix = 'skiff-api-'): Served {
  let serve: ChildProcess | undefined;
  const s = {} as Served;
  const start = async () => {
    serve = spawn(process.execPath, [bin, 'system', 'serve'], { env: { ...process.env, SKIFF_HOME: s.home }, stdio: ['ignore', 'pipe', 'pipe'] });
    let said = '';
    await new Promise<void>((resolve, reject) => {
      serve!.stdout!.on('data', (c: Buffer) => { said += c.toString(); if (said.includes('Serving')) resolve(); });
      serve!.stderr!.on('data', (c: Buffer) => (said += c.toString()));
      serve!.on('exit', (code) => reject(new Error(`skiff system serve exited (${code}): ${said}`)));
    });
    expect(said).toContain(`unix://${s.sock}`);
  };
  s.stop = async () => {
    if (serve && serve.exitCode === null) {
      const exited = new Promise((r) => serve!.once('exit', r));
      serve.kill('SIGTERM');
      await exited;
    }
  };
  s.startAgain = start;
  s.pid = () => serve!.pid!;
  beforeAll(async () => {
    s.docker = requireTool('docker', 'docker.io');
    s.dir = mkdtempSync(join(tmpdir(), prefix));
    s.home = join(s.dir, 'home');
    s.sock = join(s.home, 'docker.sock');
    s.dockerEnv = () => ({ DOCKER_HOST: `unix://${s.sock}`, DOCKER_CONFIG: join(s.dir, 'docker-config'), DOCKER_BUILDKIT: '0' });
    s.d = (...args) => runTool(s.docker, args, s.dockerEnv(), { cwd: s.dir });
    s.dIn = (input, ...args) => runTool(s.docker, args, s.dockerEnv(), { input, cwd: s.dir });
    s.skiff = (...args) => runTool(process.execPath, [bin, ...args], { SKIFF_HOME: s.home }, { cwd: s.dir });
    s.api = (method, path, body) => new Promise((resolve, reject) => {
      const req = request({ socketPath: s.sock, method, path, headers: body ? { 'Content-Type': 'application/json' } : {} }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : {} }));
      });
      req.on('error', reject);
      req.end(body);
    });
    await start();
  });
  afterAll(async () => {
    await s.stop();
    if (s.dir) rmSync(s.dir, { recursive: true, force: true });
  });
  return s;
}

/** Polls `f` until it gives a truthy value (or `ms` pass); the last value either way. */
export async function until<T>(f: () => Promise<T>, ms = 20_000, every = 200): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v || Date.now() - t0 > ms) return v;
    await new Promise((r) => setTimeout(r, every));
  }
}
