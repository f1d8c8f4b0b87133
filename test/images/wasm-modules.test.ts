// The wasm images' modules, taken out of the committed archives by umoci, run
// under Node's own node:wasi (an independent WASI implementation) with the
// expected output. Our runtime is compared against the same modules elsewhere.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIST, cleanup, entry, runWasi, tempDir, umociUnpack } from './helpers.ts';

afterAll(cleanup);

function moduleOf(name: string, file: string): string {
  const path = join(umociUnpack(join(DIST, entry(name).file), { rootfsOnly: true }), file);
  expect(existsSync(path), `${file} in ${name}`).toBe(true);
  return path;
}

describe.each([
  ['skiff/hello-wasm:latest', 'hello.wasm', 64 * 1024],
  ['skiff/lua-wasm:latest', 'lua.wasm', 512 * 1024],
  ['skiff/sqlite-wasm:latest', 'sqlite3.wasm', 1024 * 1024],
])('%s', (name, file, maxBytes) => {
  it('is a stripped WASI command module importing only wasi_snapshot_preview1 functions', async () => {
    const bytes = readFileSync(moduleOf(name, file));
    expect(bytes.length).toBeLessThan(maxBytes);
    const mod = await WebAssembly.compile(bytes);
    expect(WebAssembly.Module.exports(mod).map((e) => e.name).sort()).toEqual(['_start', 'memory']);
    const imports = WebAssembly.Module.imports(mod);
    expect(imports.filter((i) => i.module !== 'wasi_snapshot_preview1' || i.kind !== 'function')).toEqual([]);
    expect(WebAssembly.Module.customSections(mod, 'name'), 'stripped (-s)').toHaveLength(0);
  });
});

describe('skiff/hello-wasm', () => {
  let wasm: string;
  beforeAll(() => { wasm = moduleOf('skiff/hello-wasm:latest', 'hello.wasm'); });

  it('prints its greeting, its args and $GREETING', () => {
    const res = runWasi(wasm, ['hello', 'one', 'two words', 'ünï'], { env: { GREETING: 'hi there' } });
    expect(res.status).toBe(0);
    expect(res.stdout).toBe(
      'Hello from WebAssembly!\nargc=4\nargv[0]=hello\nargv[1]=one\nargv[2]=two words\nargv[3]=ünï\nGREETING=hi there\n',
    );
    expect(runWasi(wasm, ['hello']).stdout).toContain('GREETING=(unset)\n');
  });
});

describe('skiff/lua-wasm', () => {
  let wasm: string;
  beforeAll(() => { wasm = moduleOf('skiff/lua-wasm:latest', 'lua.wasm'); });

  it('evaluates an expression', () => {
    const res = runWasi(wasm, ['lua', '-e', 'print(1+1, _VERSION)']);
    expect(res).toMatchObject({ status: 0, stdout: '2\tLua 5.4\n' });
  });

  it('catches errors with pcall (setjmp/longjmp as Wasm exceptions)', () => {
    const res = runWasi(wasm, ['lua', '-e', `
      print(pcall(error, "boom"))
      local ok, e = pcall(function() local t = nil; return t.x end)
      print(ok, e)
      print(select('#', pcall(string.rep)))
      for i = 1, 3 do print(pcall(error, i)) end`]);
    expect(res.status).toBe(0);
    expect(res.stdout).toBe(
      "false\tboom\nfalse\t(command line):3: attempt to index a nil value (local 't')\n2\nfalse\t1\nfalse\t2\nfalse\t3\n",
    );
  });

  it('exits 1 with a traceback on an uncaught error', () => {
    const res = runWasi(wasm, ['lua', '-e', 'error("fatal")']);
    expect(res.status).toBe(1);
    expect(res.stderr).toContain('lua: (command line):1: fatal');
    expect(res.stderr).toContain('stack traceback');
  });

  it('reads a script from stdin, reads env, writes and reads files', () => {
    const dir = tempDir('lua');
    writeFileSync(join(dir, 'in.txt'), 'from the host\n');
    const script = `
      print(os.getenv("WHO"))
      print(io.open("/in.txt"):read("l"))
      local f = assert(io.open("/out.txt", "w")); f:write("written by lua"); f:close()
      print(string.format("%.3f", math.pi), #arg)
      print(io.popen == nil or select(2, pcall(io.popen, "ls")) ~= nil)
      os.exit(7)`;
    const res = runWasi(wasm, ['lua', '-'], { env: { WHO: 'wasi' }, dir, stdin: script });
    expect(res.stdout).toBe('wasi\nfrom the host\n3.142\t0\ntrue\n');
    expect(res.status).toBe(7);
    expect(readFileSync(join(dir, 'out.txt'), 'utf8')).toBe('written by lua');
  });
});

describe('skiff/sqlite-wasm', () => {
  let wasm: string;
  beforeAll(() => { wasm = moduleOf('skiff/sqlite-wasm:latest', 'sqlite3.wasm'); });

  it('answers a query on an in-memory database', () => {
    const res = runWasi(wasm, ['sqlite3', ':memory:', 'select 1']);
    expect(res).toMatchObject({ status: 0, stdout: '1\n' });
    expect(runWasi(wasm, ['sqlite3', ':memory:', 'select sqlite_version(), sqrt(1764)']).stdout).toBe('3.40.1|42.0\n');
  });

  it('creates a database file that a second run reads back', () => {
    const dir = tempDir('sqlite');
    const create = runWasi(wasm, ['sqlite3', '/data.db', "create table t(k text, v int); insert into t values ('a', 40), ('b', 2);"], { dir });
    expect(create.status, create.stderr).toBe(0);
    expect(readFileSync(join(dir, 'data.db')).subarray(0, 16).toString('latin1')).toBe('SQLite format 3\0');
    const read = runWasi(wasm, ['sqlite3', '/data.db'], { dir, stdin: '.mode list\nselect sum(v) from t;\nselect k from t order by k;\n' });
    expect(read).toMatchObject({ status: 0, stdout: '42\na\nb\n' });
  });

  it('reports SQL errors with a non-zero exit', () => {
    const res = runWasi(wasm, ['sqlite3', ':memory:', 'select * from missing']);
    expect(res.status).not.toBe(0);
    expect(res.stderr).toContain('no such table: missing');
  });
});
