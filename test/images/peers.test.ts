// The bundled images as real peers see them: skopeo reads the archives with our
// digests and platforms, umoci unpacks them into the expected trees, and the
// unpacked i386 programs run natively (loader invoked directly, no chroot).
import { lstatSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../helpers/exec.ts';
import { DIST, cleanup, entry, readManifest, umociUnpack } from './helpers.ts';

afterAll(cleanup);

describe('skopeo inspect oci-archive:', () => {
  it.each(readManifest().map((e) => [e.name, e] as const))('%s shows our digest, platform and layers', (_name, e) => {
    const info = JSON.parse(run('skopeo', ['inspect', `oci-archive:${join(DIST, e.file)}`])) as {
      Digest: string; Architecture: string; Os: string; Layers: string[];
    };
    expect(info.Digest).toBe(e.manifestDigest);
    expect(info.Architecture).toBe(e.platform.architecture);
    expect(info.Os).toBe(e.platform.os);
    const raw = JSON.parse(run('skopeo', ['inspect', '--raw', `oci-archive:${join(DIST, e.file)}`])) as {
      layers: { digest: string }[];
    };
    expect(info.Layers).toEqual(raw.layers.map((l) => l.digest));
  });

  it('finds the image by the reference in index.json', () => {
    const e = entry('skiff/busybox:latest');
    const info = JSON.parse(run('skopeo', ['inspect', `oci-archive:${join(DIST, e.file)}:${e.name}`])) as { Digest: string };
    expect(info.Digest).toBe(e.manifestDigest);
  });
});

describe('skiff/busybox unpacked by umoci', () => {
  let rootfs: string;
  beforeAll(() => {
    rootfs = umociUnpack(join(DIST, entry('skiff/busybox:latest').file));
  });

  it('has /bin/busybox and one symlink to it per applet busybox reports', () => {
    const busybox = join(rootfs, 'bin', 'busybox');
    expect(statSync(busybox).mode & 0o777).toBe(0o755);
    const applets = run(busybox, ['--list-full']).trim().split('\n').filter((a) => a !== 'linuxrc' && a !== 'bin/busybox');
    expect(applets.length).toBeGreaterThan(250);
    for (const applet of applets) {
      expect(lstatSync(join(rootfs, applet)).isSymbolicLink(), applet).toBe(true);
      expect(readlinkSync(join(rootfs, applet)), applet).toBe('/bin/busybox');
    }
    for (const common of ['bin/sh', 'bin/ls', 'bin/cat', 'usr/bin/env', 'sbin/init', 'usr/bin/wget', 'bin/vi']) {
      expect(applets, common).toContain(common);
    }
  });

  it('runs natively (a static i386 binary on this kernel)', () => {
    expect(run(join(rootfs, 'bin', 'busybox'), ['sh', '-c', 'echo $((6 * 7))']).trim()).toBe('42');
  });

  it('has users root, nobody and user (1000), and the standard directories', () => {
    const passwd = readFileSync(join(rootfs, 'etc', 'passwd'), 'utf8');
    expect(passwd).toMatch(/^root:x:0:0:root:\/root:\/bin\/sh$/m);
    expect(passwd).toMatch(/^nobody:x:65534:65534:/m);
    expect(passwd).toMatch(/^user:x:1000:1000:.*:\/home\/user:\/bin\/sh$/m);
    expect(readFileSync(join(rootfs, 'etc', 'group'), 'utf8')).toMatch(/^user:x:1000:$/m);
    expect(statSync(join(rootfs, 'tmp')).mode & 0o7777).toBe(0o1777);
    expect(statSync(join(rootfs, 'root')).mode & 0o7777).toBe(0o700);
    const home = statSync(join(rootfs, 'home', 'user'));
    expect([home.uid, home.gid]).toEqual([1000, 1000]);
    for (const d of ['dev', 'proc', 'sys', 'etc', 'usr/bin', 'usr/sbin', 'var/tmp', 'run', 'mnt']) {
      expect(statSync(join(rootfs, d)).isDirectory(), d).toBe(true);
    }
  });
});

describe('skiff/tools unpacked by umoci', () => {
  let rootfs: string;
  let runTool: (prog: string, args: string[], input?: string) => string;
  beforeAll(() => {
    rootfs = umociUnpack(join(DIST, entry('skiff/tools:latest').file));
    const libPath = ['lib/i386-linux-gnu', 'usr/lib/i386-linux-gnu'].map((d) => join(rootfs, d)).join(':');
    // the image's own loader, pointed at the image's own libraries
    runTool = (prog, args, input) =>
      run(join(rootfs, 'lib', 'ld-linux.so.2'), ['--library-path', libPath, join(rootfs, prog), ...args], { input });
  });

  it('keeps the busybox layer underneath', () => {
    expect(readlinkSync(join(rootfs, 'bin', 'sh'))).toBe('/bin/busybox');
    expect(statSync(join(rootfs, 'bin', 'busybox')).isFile()).toBe(true);
  });

  it('has every shared library the programs need, and nothing from docs/man/locales', () => {
    const needed = new Set<string>();
    const queue = ['usr/bin/lua5.4', 'usr/bin/sqlite3', 'usr/bin/jq'];
    const dirs = ['lib/i386-linux-gnu', 'usr/lib/i386-linux-gnu'];
    while (queue.length) {
      const elf = queue.shift()!;
      const dyn = run('readelf', ['-d', join(rootfs, elf)]);
      for (const [, soname] of dyn.matchAll(/\(NEEDED\).*\[(.+)\]/g)) {
        if (needed.has(soname!)) continue;
        needed.add(soname!);
        const dir = dirs.find((d) => { try { statSync(join(rootfs, d, soname!)); return true; } catch { return false; } });
        expect(dir, `${soname} needed by ${elf}`).toBeDefined();
        queue.push(join(dir!, soname!));
      }
    }
    expect([...needed].sort()).toEqual(
      ['ld-linux.so.2', 'libc.so.6', 'libjq.so.1', 'libm.so.6', 'libonig.so.5', 'libreadline.so.8', 'libsqlite3.so.0', 'libtinfo.so.6', 'libz.so.1'],
    );
    const all = run('find', [rootfs, '-path', '*/share/man*', '-o', '-path', '*/share/locale*', '-o', '-name', '*.gz']).trim();
    expect(all).toBe('');
    expect(readlinkSync(join(rootfs, 'lib', 'ld-linux.so.2'))).toBe('i386-linux-gnu/ld-linux.so.2');
  });

  it('has a loader whose default search path finds the libraries without ld.so.cache', () => {
    const help = run(join(rootfs, 'lib', 'ld-linux.so.2'), ['--help']);
    expect(help).toContain('/lib/i386-linux-gnu (system search path)');
    expect(help).toContain('/usr/lib/i386-linux-gnu (system search path)');
  });

  it('runs lua', () => {
    expect(runTool('usr/bin/lua5.4', ['-e', 'print(_VERSION, 6 * 7, pcall(error, "x"))']).trim()).toBe('Lua 5.4\t42\tfalse\tx');
    expect(readlinkSync(join(rootfs, 'usr', 'bin', 'lua'))).toBe('lua5.4');
  });

  it('runs sqlite3', () => {
    expect(runTool('usr/bin/sqlite3', [':memory:', 'create table t(a); insert into t values (1),(2),(39); select sum(a), sqlite_version() from t;']).trim())
      .toBe('42|3.40.1');
  });

  it('runs jq', () => {
    expect(runTool('usr/bin/jq', ['-c', '{n: (.a | add), k: keys}'], '{"a":[40,2]}').trim()).toBe('{"n":42,"k":["a"]}');
  });
});
