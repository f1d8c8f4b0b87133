/**
 * The guest's 9P cache (vm-images/kernel/skiff-9p-cache.patch, ExportOptions.cacheable) on the real
 * VM: a container's root is cached in the guest, yet a running container sees at once every change
 * made elsewhere. Each case first makes the guest look at what will change (stat, read, a name
 * that is missing), so a cache that kept it would answer stale: (a) a file written on the host
 * into a bind mount, (b) a named volume changed by another container and by the engine outside
 * the guest, (c) `cp` into the container (new names in image directories, replaced content), (d)
 * its own writes from a second process; and nothing is lost when it exits. A container claimed
 * from the pool (whose root was a placeholder the guest looked at: never cacheable, pool.ts) sees
 * its own image.
 */
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTar } from '../../src/archive/tar-writer.ts';
import { MemoryContentStore } from '../../src/content/memory.ts';
import { bundledFromDir, defaultBundledDir } from '../../src/engine/bundled.ts';
import { Engine } from '../../src/engine/engine.ts';
import { MemoryStateStore } from '../../src/engine/state/memory.ts';
import type { Overlay } from '../../src/fs/overlay.ts';
import { MessageCode } from '../../src/p9/messages.ts';
import { nodeHostDir, nodeVmRuntime } from '../../src/node.ts';
import { parseRunFlags } from '../../src/runtime/spec/options.ts';
import type { VmRuntime } from '../../src/runtime/vm/container-runtime.ts';

const td = new TextDecoder();
const te = new TextEncoder();
const bind = fs.mkdtempSync(join(tmpdir(), 'skiff-guest-cache-'));
let e: Engine;
let vm: VmRuntime | undefined;
let id: string;
/** 9P requests the guest sent, by type code. */
const sent = new Map<number, number>();

async function sh(script: string): Promise<string> {
  const out: string[] = [];
  const p = await e.execContainer({ id, cmd: ['sh', '-c', script], io: { onStdout: (d) => out.push(td.decode(d)), onStderr: (d) => out.push(td.decode(d)) } });
  const st = await p.wait();
  if (st.exitCode !== 0) throw new Error(`exec ${script}: exit ${st.exitCode}: ${out.join('')}`);
  return out.join('');
}

/** Replaces (or creates) `path`'s content in an Overlay, as a writer outside the guest does. */
function writeInto(ov: Overlay, path: string, text: string): void {
  const parts = path.split('/').filter(Boolean);
  let dir = ov.root();
  for (const p of parts.slice(0, -1)) dir = ov.lookup(dir, p);
  const name = parts[parts.length - 1]!;
  let node;
  try {
    node = ov.lookup(dir, name);
    ov.setattr(node, { size: 0 });
  } catch {
    node = ov.create(dir, name, { mode: 0o644, uid: 0, gid: 0 });
  }
  ov.write(node, 0, te.encode(text));
}

beforeAll(async () => {
  fs.writeFileSync(join(bind, 'f'), 'host v1\n');
  e = new Engine({
    content: new MemoryContentStore(), state: new MemoryStateStore(), bundled: bundledFromDir(defaultBundledDir()), hostDir: nodeHostDir,
    runtimes: {
      vm: async () => {
        const rt = (vm = await nodeVmRuntime());
        const handle = rt.server.handleAsync.bind(rt.server);
        rt.server.handleAsync = (req) => {
          sent.set(req[4]!, (sent.get(req[4]!) ?? 0) + 1);
          return handle(req);
        };
        return rt;
      },
    },
  });
  const c = await e.createContainer({ image: 'skiff/busybox', cmd: ['sleep', '600'], run: parseRunFlags({ volume: [`${bind}:/bind`, 'cachevol:/data'] }) });
  id = c.id;
  await e.startContainer({ id, io: { onStdout: () => {}, onStderr: () => {} } });
}, 300_000);

afterAll(async () => {
  await e?.shutdown();
  fs.rmSync(bind, { recursive: true, force: true });
});

describe("the guest's cache of a container's files", () => {
  it('is on: a second listing of image directories asks the server for no attributes', async () => {
    const getattrs = async () => {
      const before = sent.get(MessageCode.Tgetattr) ?? 0;
      await sh('ls -lR /bin /etc /usr > /dev/null');
      return (sent.get(MessageCode.Tgetattr) ?? 0) - before;
    };
    const first = await getattrs();
    const second = await getattrs();
    expect(first).toBeGreaterThan(100);
    expect(second).toBeLessThan(first / 10);
  }, 120_000);

  it('(a) sees a file written on the host into a bind mount at once', async () => {
    expect(await sh('cat /bind/f; stat -c %s /bind/f; cat /bind/new 2>&1 || true; ls /bind')).toBe('host v1\n8\ncat: can\'t open \'/bind/new\': No such file or directory\nf\n');
    fs.writeFileSync(join(bind, 'f'), 'host v2, longer\n');
    fs.writeFileSync(join(bind, 'new'), 'new on host\n');
    expect(await sh('cat /bind/f; stat -c %s /bind/f; cat /bind/new; ls /bind')).toBe('host v2, longer\n16\nnew on host\nf\nnew\n');
  }, 120_000);

  it('(b) sees a named volume changed by another container and by the engine outside the guest', async () => {
    await sh('echo g > /data/g');
    expect(await sh('cat /data/f 2>&1 || true; stat -c %s /data/g')).toBe('cat: can\'t open \'/data/f\': No such file or directory\n2\n');
    const r = await e.runContainer({ image: 'skiff/busybox', cmd: ['sh', '-c', 'echo from-b > /data/f; echo more >> /data/g'], run: parseRunFlags({ volume: ['cachevol:/data'], rm: true }), io: { onStdout: () => {}, onStderr: () => {} } });
    expect(r.exit.exitCode).toBe(0);
    expect(await sh('cat /data/f; stat -c %s /data/g; cat /data/h 2>&1 || true')).toBe('from-b\n7\ncat: can\'t open \'/data/h\': No such file or directory\n');
    const vol = await e.volumeFs({ name: 'cachevol' });
    writeInto(vol, '/h', 'from the engine\n');
    writeInto(vol, '/g', 'replaced\n');
    expect(await sh('cat /data/h; stat -c %s /data/g; cat /data/g')).toBe('from the engine\n9\nreplaced\n');
  }, 180_000);

  it('(c) sees `cp` into it at once: new names in image directories, replaced files', async () => {
    await sh('mkdir -p /srv && echo old > /srv/f');
    const before = await sh('cat /etc/cp-new 2>&1 || true; cat /srv/f; stat -c %s /srv/f; ls /etc | grep -c cp-new || true; stat -c %s /etc/passwd');
    expect(before).toMatch(/^cat: can't open '\/etc\/cp-new': No such file or directory\nold\n4\n0\n\d+\n$/);
    const passwd = await sh('cat /etc/passwd');
    const file = (name: string, text: string) => ({
      header: { name, type: 'file' as const, mode: 0o644, uid: 0, gid: 0, size: te.encode(text).length, mtime: 1_700_000_000, linkname: '', devmajor: 0, devminor: 0 },
      data: te.encode(text),
    });
    await e.copyIntoContainer({ id, path: '/etc', tar: writeTar([file('cp-new', 'copied in\n'), file('passwd', `${passwd}cp:x:9:9::/:/bin/sh\n`)]) });
    await e.copyIntoContainer({ id, path: '/srv', tar: writeTar([file('f', 'new and longer\n')]) });
    const after = await sh('cat /etc/cp-new; cat /srv/f; stat -c %s /srv/f; ls /etc | grep -c cp-new; tail -n 1 /etc/passwd; stat -c %s /etc/passwd');
    expect(after).toBe(`copied in\nnew and longer\n15\n1\ncp:x:9:9::/:/bin/sh\n${te.encode(passwd).length + 20}\n`);
  }, 120_000);

  it("a container claimed from the pool sees its image's attributes, not the placeholder root's the guest looked at", async () => {
    const rt = vm!;
    await rt.fillPool();
    const before = rt.pooledStarts;
    const out: string[] = [];
    const r = await e.runContainer({ image: 'skiff/busybox', cmd: ['sh', '-c', 'stat -c "%h %Y %a" /etc /proc /dev; ls /etc | head -n 3'], io: { onStdout: (d) => out.push(td.decode(d)), onStderr: (d) => out.push(td.decode(d)) } });
    expect(r.exit.exitCode).toBe(0);
    expect(rt.pooledStarts).toBe(before + 1);
    const ov = await e.containerFs({ id: r.id });
    const st = ov.stat(ov.lookup(ov.root(), 'etc'));
    const lines = out.join('').split('\n');
    expect(lines[0]).toBe(`${st.nlink} ${Math.floor(st.mtimeMs / 1000)} ${(st.mode & 0o7777).toString(8)}`);
    expect(lines.slice(3, 6)).toEqual(ov.readdir(ov.lookup(ov.root(), 'etc')).map((d) => d.name).sort().slice(0, 3));
  }, 180_000);

  it('(d) sees its own writes from a second process, and keeps them all when it exits', async () => {
    expect(await sh('cat /srv/d 2>&1 || true; stat -c %s /etc/group; ls /srv')).toMatch(/^cat: can't open '\/srv\/d': No such file or directory\n\d+\nf\n$/);
    const group = Number((await sh('stat -c %s /etc/group')).trim());
    await sh('echo mine > /srv/d; echo "extra:x:77:" >> /etc/group; mkdir /srv/dir; mv /srv/f /srv/dir/moved; rm /bin/true');
    expect(await sh('cat /srv/d; stat -c %s /etc/group; ls /srv /srv/dir; cat /srv/dir/moved; ls /bin/true 2>&1 || true'))
      .toBe(`mine\n${group + 12}\n/srv:\nd\ndir\n\n/srv/dir:\nmoved\nnew and longer\nls: /bin/true: No such file or directory\n`);
    await sh('echo last > /srv/at-exit');
    await e.stopContainer({ id, timeout: 1 });
    const changes = (await e.containerChanges({ id })).map((c) => `${c.kind} ${c.path}`);
    expect(changes).toEqual(expect.arrayContaining(['A /srv/d', 'A /srv/at-exit', 'A /srv/dir/moved', 'C /etc/group', 'D /bin/true', 'A /etc/cp-new']));
    const ov = await e.containerFs({ id });
    const read = (path: string) => {
      let n = ov.root();
      for (const p of path.split('/').filter(Boolean)) n = ov.lookup(n, p);
      return td.decode(ov.read(n, 0, 1 << 16));
    };
    expect(read('/srv/at-exit')).toBe('last\n');
    expect(read('/etc/group').endsWith('extra:x:77:\n')).toBe(true);
  }, 120_000);
});
