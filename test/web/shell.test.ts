/**
 * The browser shell over the real engine service (the code the engine worker runs), in Node:
 * IndexedDB from fake-indexeddb, the bundled images fetched from the repository. Same calls the
 * page makes, without a browser.
 */
import 'fake-indexeddb/auto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EngineApi } from '../../src/web/rpc/protocol.ts';
import type { ShellContext } from '../../src/web/shell/context.ts';
import { Shell } from '../../src/web/shell/shell.ts';
import { createEngineService } from '../../src/web/worker/engine-service.ts';
import { ROOT } from './harness.ts';

const fileFetch = (async (input: RequestInfo | URL) => {
  const url = new URL(String(input instanceof Request ? input.url : input));
  try {
    return new Response(await readFile(fileURLToPath(url)));
  } catch {
    return new Response('not found', { status: 404 });
  }
}) as typeof fetch;

let api: EngineApi;
let n = 0;

function session(): { shell: Shell; out: () => string; downloads: { name: string; blob: Blob }[]; files: File[] } {
  let text = '';
  const downloads: { name: string; blob: Blob }[] = [];
  const files: File[] = [];
  const ctx: ShellContext = {
    engine: {
      api,
    },
    stdout: (s) => { text += s; },
    stderr: (s) => { text += `E:${s}`; },
    download: (blob, name) => downloads.push({ name, blob }),
    pickFiles: async () => files.splice(0),
    progress: () => {},
    progressDone: () => {},
    capabilities: () => api.capabilities(),
  };
  return { shell: new Shell(ctx), out: () => { const t = text; text = ''; return t; }, downloads, files };
}

beforeAll(async () => {
  api = createEngineService({ fetch: fileFetch });
  const info = await api.init({ assetBase: new URL('file://' + ROOT + '/').href, dbPrefix: `shell-test-${n++}` });
  expect(info.seeded).toHaveLength(5);
}, 120_000);

describe('Shell over the engine service', () => {
  it('images lists the seeded bundled images; image ls and "skiff images" are the same command', async () => {
    const s = session();
    expect(await s.shell.execute('images')).toBe(0);
    const a = s.out();
    expect(a).toMatch(/^REPOSITORY\s+TAG\s+IMAGE ID/);
    expect(a.match(/^skiff\//gm)).toHaveLength(5);
    await s.shell.execute('skiff image ls');
    expect(s.out()).toBe(a);
  });

  it('run streams a wasm module\'s output and returns its exit code; --rm leaves nothing', async () => {
    const s = session();
    expect(await s.shell.execute('run --rm skiff/hello-wasm "two words"')).toBe(0);
    expect(s.out()).toContain('argv[1]=two words');
    expect(await s.shell.execute('run --rm skiff/lua-wasm -e "os.exit(7)"')).toBe(7);
    await s.shell.execute('ps -a -q');
    expect(s.out()).toBe('');
  });

  it('a kept container records its exit; diff and export see what it wrote', async () => {
    const s = session();
    expect(await s.shell.execute(`run --name writer skiff/lua-wasm -e "local f=io.open('/note.txt','w') f:write('hi') f:close()"`)).toBe(0);
    await s.shell.execute('ps -a');
    expect(s.out()).toMatch(/skiff\/lua-wasm\s.*Exited \(0\).*writer/);
    await s.shell.execute('diff writer');
    expect(s.out()).toContain('A /note.txt');
    expect(await s.shell.execute('export -o w.tar writer')).toBe(0);
    expect(s.downloads[0]!.name).toBe('w.tar');
    expect(new TextDecoder().decode(await s.downloads[0]!.blob.arrayBuffer())).toContain('note.txt');
    expect(await s.shell.execute('rename writer scribe')).toBe(0);
    expect(await s.shell.execute('commit -m "a note" scribe skiff/noted:1')).toBe(0);
    expect(s.out()).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    expect(await s.shell.execute(`run --rm skiff/noted:1 -e "io.write(io.open('/note.txt'):read('a'))"`)).toBe(0);
    expect(s.out()).toBe('hi');
    expect(await s.shell.execute('rm scribe')).toBe(0);
    expect(await s.shell.execute('rmi skiff/noted:1')).toBe(0);
  });

  it('a named volume outlives its containers and is shared between them', async () => {
    const s = session();
    const write = `run --rm -v notes:/data skiff/lua-wasm -e "local f=io.open('/data/n.txt','a') f:write('line\\n') f:close()"`;
    expect(await s.shell.execute(write)).toBe(0);
    expect(await s.shell.execute(write)).toBe(0);
    expect(await s.shell.execute(`run --rm -v notes:/data:ro skiff/lua-wasm -e "io.write(io.open('/data/n.txt'):read('a'))"`)).toBe(0);
    expect(s.out()).toBe('line\nline\n');
    await s.shell.execute('volume ls');
    expect(s.out()).toMatch(/local\s+notes\s/);
    expect(await s.shell.execute(`run --rm -v notes:/data:ro skiff/lua-wasm -e "assert(io.open('/data/x','w'))"`)).not.toBe(0);
    expect(s.out()).toMatch(/Read-only file system|read-only/i);
  });

  it('logs (with timestamps), wait, and start again: the engine\'s lifecycle', async () => {
    const s = session();
    expect(await s.shell.execute('run --name hello skiff/hello-wasm one')).toBe(0);
    s.out();
    await s.shell.execute('logs hello');
    const logs = s.out();
    expect(logs).toContain('Hello from WebAssembly!\nargc=2\n');
    await s.shell.execute('logs -t --tail 1 hello');
    expect(s.out()).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z GREETING=hello from skiff\n$/);
    expect(await s.shell.execute('start hello')).toBe(0);
    await s.shell.execute('wait hello');
    expect(s.out()).toBe('hello\n0\n');
    await s.shell.execute('logs hello');
    expect(s.out().split('Hello from WebAssembly!').length - 1).toBe(2);
    expect(await s.shell.execute('rm hello')).toBe(0);
  });

  it('save then load round-trips through a download and the file picker', async () => {
    const s = session();
    await s.shell.execute('tag skiff/hello-wasm skiff/copy:1');
    expect(await s.shell.execute('save skiff/copy:1')).toBe(0);
    const d = s.downloads[0]!;
    expect(d.name).toBe('skiff_copy_1.tar');
    await s.shell.execute('rmi skiff/copy:1');
    s.out();
    s.files.push(new File([d.blob], d.name));
    expect(await s.shell.execute('load')).toBe(0);
    expect(s.out()).toBe('Loaded image: skiff/copy:1\n');
  });

  it('errors: usage 125, engine 1, unknown command 127, run flags checked by the CLI\'s parser', async () => {
    const s = session();
    expect(await s.shell.execute('ps --nope')).toBe(125);
    expect(s.out()).toBe("E:skiff: unknown flag: --nope\nSee 'skiff ps --help'.\n");
    expect(await s.shell.execute('rmi skiff/none')).toBe(1);
    expect(s.out()).toMatch(/^E:Error: No such image/);
    expect(await s.shell.execute('frobnicate')).toBe(125);
    expect(s.out()).toBe("E:skiff: 'frobnicate' is not a skiff command.\nSee 'skiff --help'.\n");
    expect(await s.shell.execute('run --memory lots skiff/hello-wasm')).toBe(125);
    expect(s.out()).toMatch(/^E:skiff: invalid argument "lots" for "-m, --memory" flag/);
    expect(await s.shell.execute('run -v /host/dir:/data skiff/hello-wasm')).toBe(125);
    expect(s.out()).toMatch(/host directories cannot be mounted in a browser/);
    expect(await s.shell.execute('logs nobody')).toBe(1);
    expect(s.out()).toBe('E:Error: No such container: nobody\n');
  });

  it('takes every flag the CLI takes: host-only ones say why, the rest work', async () => {
    const s = session();
    expect(await s.shell.execute('run --rm --env-file my.env skiff/hello-wasm')).toBe(125);
    expect(s.out()).toBe("E:skiff: --env-file: host files cannot be read in a browser\nSee 'skiff run --help'.\n");
    expect(await s.shell.execute('load -i some.tar')).toBe(125);
    expect(s.out()).toMatch(/--input: host files cannot be read in a browser/);
    // Flags the old browser parser did not know (memory-swap, stop-signal, label-less caps, security-opt).
    expect(await s.shell.execute('run --rm --memory 64m --memory-swap -1 --stop-signal SIGTERM --cap-drop ALL --group-add 10 --security-opt no-new-privileges -l a=b skiff/hello-wasm x')).toBe(0);
    expect(s.out()).toContain('argv[1]=x');
    expect(await s.shell.execute('run --rm --cap-add NOPE skiff/hello-wasm')).toBe(125);
    expect(s.out()).toMatch(/^E:skiff: .*NOPE/);
    for (const name of ['restart', 'container prune', 'system prune', 'image rollback', 'import', 'volume inspect', 'container inspect']) {
      expect(await s.shell.execute(`${name} --help`)).toBe(0);
      expect(s.out()).toContain(`Usage:  skiff ${name} `);
    }
  });

  it('image metadata and echoed input are shown with control characters escaped', async () => {
    const s = session();
    expect(await s.shell.execute('tag skiff/hello-wasm skiff/plain:1')).toBe(0);
    expect(await s.shell.execute('save skiff/plain:1')).toBe(0);
    const tarBlob = s.downloads.pop()!.blob;
    // A rootfs tar (any tar) imported with a hostile message: the message is the image's comment.
    s.files.push(new File([tarBlob], 'r.tar'));
    expect(await s.shell.execute(`import -m '\x1b]0;pwned\x07\x1b[2Jmsg\u009b' - skiff/evil:1`)).toBe(0);
    s.out();
    await s.shell.execute('history skiff/evil:1');
    const h = s.out();
    expect(h).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f]/);
    expect(h).toContain('\\x1b]0;pwned\\x07\\x1b[2Jmsg\\x9b');
    expect(await s.shell.execute('rmi "\x1b[2Jnope"')).toBe(1);
    expect(s.out()).toMatch(/^E:Error: invalid reference format: repository name \(library\/\\x1b\[2Jnope\) must be lowercase/);
    await s.shell.execute('rmi skiff/evil:1 skiff/plain:1');
    s.out();
  });

  it('completes command words the way the terminal asks', () => {
    const s = session();
    expect(s.shell.complete('ima')).toEqual(['image', 'images']);
    expect(s.shell.complete('image l')).toEqual(['list', 'load', 'ls']);
    expect(s.shell.complete('skiff vol')).toEqual(['volume']);
    expect(s.shell.complete('volume ')).toEqual(['create', 'inspect', 'list', 'ls', 'prune', 'remove', 'rm']);
    expect(s.shell.complete('run busybox ec')).toEqual([]);
  });

  it('help lists every command; COMMAND --help shows its flags', async () => {
    const s = session();
    await s.shell.execute('help');
    const h = s.out();
    for (const c of ['run', 'images', 'load', 'save', 'rmi', 'ps', 'rm', 'inspect', 'exec', 'logs', 'create', 'export']) expect(h).toMatch(new RegExp(`^  ${c}\\s`, 'm'));
    await s.shell.execute('run --help');
    expect(s.out()).toMatch(/--rm\s/);
  });
});
