/**
 * The runtime conformance suite: what a container does the same on every ContainerRuntime (the
 * VM running Linux programs, WASI running wasm modules), observed through the engine as a user
 * would: argv/env/cwd rules, exit codes 0/1/126/127, signals, volumes, tmpfs and stdin.
 * Each backend (vm/conformance.test.ts, wasi/conformance.test.ts) supplies an engine with its
 * runtime, an image with the backend's program, and the argv that makes that program do each step.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine.ts';
import type { FileSystem, FsNode } from '../../src/fs/types.ts';
import type { ProcessIO } from '../../src/runtime/types.ts';

/** Each argv prints exactly the output named; the suite compares it across backends. */
export interface ConformanceProgram {
  /** Prints the variable's value and a newline, or "(unset)". */
  printEnv(name: string): string[];
  /** Prints the working directory the process was given (a shell's `pwd`; WASI: PWD, see below). */
  pwd(): string[];
  /** Writes `text` to the absolute `path`, printing "ok", else something else and exit non-zero. */
  write(path: string, text: string): string[];
  /** Prints the file's content and a newline. */
  cat(path: string): string[];
  /** Copies stdin to stdout until EOF. */
  stdin(): string[];
  /** Exits with `code`, printing nothing. */
  exit(code: number): string[];
  /** Runs until a signal ends it. */
  spin(): string[];
}

export interface ConformanceBackend {
  name: string;
  /** An engine whose only runtime is the backend's; closed by the suite. */
  engine(): Promise<Engine>;
  /**
   * A local image with the program, Env ["FROM_IMAGE=yes", "B=image"], WorkingDir "/work" (not in
   * the image: the runtime creates it) and a plain file /etc/passwd.
   */
  image(engine: Engine): Promise<string>;
  program: ConformanceProgram;
  /** Per-test timeout (the VM is slower). */
  timeout: number;
}

const dec = new TextDecoder();

function collector(): { io: ProcessIO; out: () => string; err: () => string } {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { onStdout: (d) => void out.push(dec.decode(d)), onStderr: (d) => void err.push(dec.decode(d)) }, out: () => out.join(''), err: () => err.join('') };
}

function read(fs: FileSystem, path: string): string | undefined {
  try {
    let n: FsNode = fs.root();
    for (const p of path.split('/').filter(Boolean)) n = fs.lookup(n, p);
    return dec.decode(fs.read(n, 0, fs.stat(n).size));
  } catch {
    return undefined;
  }
}

export function runtimeConformance(b: ConformanceBackend): void {
  describe(`runtime conformance: ${b.name}`, () => {
    let e: Engine;
    let image: string;
    const p = b.program;
    beforeAll(async () => {
      e = await b.engine();
      image = await b.image(e);
    }, 300_000);
    afterAll(() => e?.shutdown());

    async function run(argv: string[], extra: Record<string, unknown> = {}) {
      const c = collector();
      const r = await e.runContainer({ image, entrypoint: [argv[0]!], cmd: argv.slice(1), io: c.io, ...extra });
      return { ...r, out: c.out(), err: c.err() };
    }

    it('argv: the entrypoint and cmd run as given; exit codes 0 and 1 pass through', async () => {
      const ok = await run(p.exit(0));
      expect([ok.exit.exitCode, ok.out, ok.err]).toEqual([0, '', '']);
      expect((await run(p.exit(1))).exit).toEqual({ exitCode: 1, oomKilled: false });
      expect((await run(p.exit(42))).exit.exitCode).toBe(42);
    }, b.timeout);

    it('env: image Env, -e overriding by key, HOSTNAME (default the id, or --hostname), PATH default, TERM only with a TTY', async () => {
      const names = ['FROM_IMAGE', 'B', 'HOSTNAME', 'TERM', 'EXTRA'];
      const env = async (extra: Record<string, unknown>) => {
        const lines: string[] = [];
        for (const n of names) {
          const r = await run(p.printEnv(n), extra);
          lines.push(r.out.replace(/\r?\n$/, ''));
          await e.removeContainer({ id: r.id });
        }
        return lines;
      };
      const plain = await run(p.printEnv('HOSTNAME'));
      expect(plain.out.trim()).toBe(plain.id.slice(0, 12));
      expect(await env({ env: ['B=run', 'EXTRA=1'], hostname: 'boxy' })).toEqual(['yes', 'run', 'boxy', '(unset)', '1']);
      const path = await run(p.printEnv('PATH'));
      expect(path.out.trim()).toBe('/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
    }, b.timeout * 3);

    // Relative paths are not part of the shared contract: a wasi-libc module starts in "/" whatever
    // it is told (wasi-libc has no initial-cwd input; runtime/wasi/run-module.ts announces the cwd
    // as PWD, which Go's wasip1 and shells honour), while a Linux process starts in the cwd.
    it('cwd: the image WorkingDir, created when missing; -w overrides; a relative -w is refused at create', async () => {
      const dir = (fs: FileSystem, path: string) => {
        let n: FsNode = fs.root();
        for (const part of path.split('/').filter(Boolean)) n = fs.lookup(n, part);
        return fs.stat(n).kind;
      };
      const r = await run(p.pwd());
      expect([r.exit.exitCode, r.out]).toEqual([0, '/work\n']);
      expect(dir(await e.containerFs({ id: r.id }), '/work')).toBe('directory');
      const w = await run(p.pwd(), { workdir: '/elsewhere/deep/' });
      expect(w.out).toBe('/elsewhere/deep\n');
      expect(dir(await e.containerFs({ id: w.id }), '/elsewhere/deep')).toBe('directory');
      await expect(run(p.exit(0), { workdir: 'relative' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('absolute path') });
    }, b.timeout);

    it('exit codes 127 (no such command) and 126 (not executable), recorded as Docker does', async () => {
      for (const [argv0, code] of [['/no/such/program', 127], ['/etc/passwd', 126]] as const) {
        const c = await e.createContainer({ image, entrypoint: [argv0], cmd: [] });
        await expect(e.startContainer({ id: c.id })).rejects.toThrow();
        expect(await e.inspectContainer({ id: c.id })).toMatchObject({ state: 'exited', exitCode: code });
        expect((await e.waitContainer({ id: c.id })).exitCode).toBe(code);
      }
    }, b.timeout);

    it('stdin: piped input reaches the program, then EOF', async () => {
      const r = await run(p.stdin(), { stdin: 'piped input\nsecond line\n' });
      expect(r.exit.exitCode).toBe(0);
      expect(r.out).toBe('piped input\nsecond line\n');
    }, b.timeout);

    it('stdin: without openStdin (no -i) the program reads EOF at once, as from /dev/null', async () => {
      const c = collector();
      const proc = await e.startContainer({ id: (await e.createContainer({ image, entrypoint: [p.stdin()[0]!], cmd: p.stdin().slice(1) })).id, io: c.io });
      // A runtime that leaves stdin open makes `cat` wait forever: give it 30 s, then kill it.
      const timer = setTimeout(() => void proc.kill('SIGKILL').catch(() => {}), 30_000);
      const exit = await proc.wait().finally(() => clearTimeout(timer));
      expect(exit.exitCode).toBe(0);
      expect(c.out()).toBe('');
    }, b.timeout);

    it('signals: SIGKILL ends it with 137; an ignored signal does nothing; stop with --init ends it with the stop signal', async () => {
      const c = await e.createContainer({ image, entrypoint: [p.spin()[0]!], cmd: p.spin().slice(1) });
      const proc = await e.startContainer({ id: c.id });
      await e.killContainer({ id: c.id, signal: 'SIGWINCH' });
      const early = await Promise.race([proc.wait(), new Promise((r) => setTimeout(() => r('still running'), 500))]);
      expect(early).toBe('still running');
      await e.killContainer({ id: c.id, signal: 'SIGKILL' });
      expect(await proc.wait()).toMatchObject({ exitCode: 137, signal: 'SIGKILL' });
      expect(await e.inspectContainer({ id: c.id })).toMatchObject({ state: 'exited', exitCode: 137, exit: { signal: 'SIGKILL' } });
      // With an init as PID 1 (Docker's --init), the stop signal reaches the program and ends it.
      const s = await e.createContainer({ image, entrypoint: [p.spin()[0]!], cmd: p.spin().slice(1), run: { init: true } });
      await e.startContainer({ id: s.id });
      // Once the init runs: a signal that reaches a namespace's PID 1 before it has set up its
      // signal handling is dropped by the kernel (the same window exists with Docker's tini).
      await new Promise((r) => setTimeout(r, 2000));
      expect(await e.stopContainer({ id: s.id, timeout: 30 })).toMatchObject({ exitCode: 143 });
    }, b.timeout);

    it('volumes: a named volume outlives the container and is shared; read-only refuses writes', async () => {
      const w = await run(p.write('/data/shared.txt', 'from the first'), { run: { volumes: [{ type: 'volume', name: 'conf-data', destination: '/data', readOnly: false, copyData: true }] } });
      expect([w.exit.exitCode, w.out.trim()]).toEqual([0, 'ok']);
      expect(read(await e.volumeFs({ name: 'conf-data' }), '/shared.txt')).toBe('from the first');
      // The writable layer did not get it: it went to the volume.
      expect(read(await e.containerFs({ id: w.id }), '/data/shared.txt')).toBeUndefined();
      const ro = { run: { volumes: [{ type: 'volume', name: 'conf-data', destination: '/data', readOnly: true, copyData: true }] } };
      const r = await run(p.cat('/data/shared.txt'), ro);
      expect(r.out).toBe('from the first\n');
      const refused = await run(p.write('/data/other.txt', 'x'), ro);
      expect(refused.exit.exitCode).not.toBe(0);
      expect(refused.out.trim()).not.toBe('ok');
      expect(read(await e.volumeFs({ name: 'conf-data' }), '/other.txt')).toBeUndefined();
    }, b.timeout);

    it('tmpfs: writable, empty at start, and never in the container layer', async () => {
      const r = await run(p.write('/scratch/t.txt', 'temporary'), { run: { tmpfs: [{ destination: '/scratch', options: ['noexec', 'nosuid', 'nodev'] }] } });
      expect([r.exit.exitCode, r.out.trim()]).toEqual([0, 'ok']);
      expect(read(await e.containerFs({ id: r.id }), '/scratch/t.txt')).toBeUndefined();
      const again = await e.startContainer({ id: r.id, io: collector().io });
      expect((await again.wait()).exitCode).toBe(0);
      const c = collector();
      const cat = await e.runContainer({ image, entrypoint: [p.cat('/scratch/t.txt')[0]!], cmd: p.cat('/scratch/t.txt').slice(1), io: c.io, run: { tmpfs: [{ destination: '/scratch', options: [] }] } });
      expect(cat.exit.exitCode).not.toBe(0);
      expect(c.out()).not.toContain('temporary');
    }, b.timeout);
  });
}
