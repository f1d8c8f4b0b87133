/**
 * The browser product: `vite` serves the demo terminal (index.html) and the docs example
 * (docs/example.html); `vite build` writes a static site to dist/ and, in a second pass, the
 * one-script-tag component `dist/skiff-run.js` (+ its engine worker `dist/skiff-engine-worker.js`).
 *
 * Static assets keep their repository paths in dev and in dist/ (vm-images/images/dist/*.tar,
 * vm-images/dist/*), so one asset base works everywhere. COOP/COEP are set by the dev and preview
 * servers (crossOriginIsolated: SharedArrayBuffer for the WASI worker); without them everything
 * still works (see docs/browser.md).
 */
import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, extname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, defineConfig, transformWithOxc, type Plugin } from 'vite';
import { defaultSnapshotDir } from './src/runtime/vm/snapshot-node.ts';
import { registryProxyPlugin } from './src/registry/proxy-node.ts';
import { wispRelayPlugin } from './src/net/wisp-relay-node.ts';

const root = dirname(fileURLToPath(import.meta.url));
const outDir = process.env['SKIFF_WEB_OUT'] ? resolve(process.env['SKIFF_WEB_OUT']) : join(root, 'dist');

/** SKIFF_NO_ISOLATION=1 serves without COOP/COEP, as a host that cannot set headers would. */
export const isolationHeaders: Record<string, string> = process.env['SKIFF_NO_ISOLATION'] ? {} : {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'cross-origin',
};

/** Files copied verbatim into dist/, at the same relative path. */
const STATIC_DIRS = ['vm-images/images/dist', 'vm-images/dist'];
const STATIC_FILES = [['node_modules/v86/build/v86.wasm', 'vm-images/v86.wasm']] as const;
/** Where the build ships the VM snapshot (SHIPPED_DIR of src/web/build/shipped-snapshot.ts, which
 * is not imported here: it pulls in the whole Machine). */
const SNAPSHOT_DIR = 'vm-images/snapshots';

function copyStatic(): string[] {
  const copied: string[] = [];
  for (const dir of STATIC_DIRS) {
    for (const f of readdirSync(join(root, dir))) {
      const src = join(root, dir, f);
      if (!isShippedFile(dir, f)) continue;
      mkdirSync(join(outDir, dir), { recursive: true });
      copyFileSync(src, join(outDir, dir, f));
      copied.push(`${dir}/${f}`);
    }
  }
  for (const [src, dst] of STATIC_FILES) {
    mkdirSync(dirname(join(outDir, dst)), { recursive: true });
    copyFileSync(join(root, src), join(outDir, dst));
    copied.push(dst);
  }
  return copied;
}

/**
 * The VM snapshot the first visit restores instead of cold-booting (src/web/build/shipped-snapshot.ts:
 * Node's cached state for these artifacts, or one boot of the guest here). In a child process: it
 * runs the TypeScript sources through tsx. SKIFF_SHIP_SNAPSHOT=0 leaves it out (the site then
 * cold-boots on a first visit); a failure is reported and leaves it out too.
 */
function shipSnapshot(): void {
  if (process.env['SKIFF_SHIP_SNAPSHOT'] === '0') return;
  try {
    const out = execFileSync(process.execPath, ['--import', 'tsx', join(root, 'src/web/build/shipped-snapshot.ts'), outDir], {
      cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000,
    });
    const r = JSON.parse(out.trim().split('\n').pop()!) as { key: string; bytes: number; how: string; ms: number };
    if (process.env['SKIFF_BUILD_VERBOSE']) console.log(`shipped VM snapshot ${r.key}: ${r.bytes} bytes (${r.how}, ${r.ms} ms)`);
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    console.warn(`skiff: no VM snapshot shipped with the site (first visits boot cold): ${(e.stderr || e.message).trim().split('\n').slice(-3).join(' / ')}`);
  }
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? listFiles(join(dir, d.name)) : [relative(outDir, join(dir, d.name)).split('\\').join('/')]);
}

/** What copyStatic puts into dist/ from a STATIC_DIRS directory (the dev server serves the same). */
function isShippedFile(dir: string, name: string): boolean {
  return !name.endsWith('.txt') && statSync(join(root, dir, name), { throwIfNoEntry: false })?.isFile() === true;
}

const CONTENT_TYPES: Record<string, string> = {
  '.json': 'application/json', '.tar': 'application/x-tar', '.wasm': 'application/wasm',
};
function contentType(name: string): string {
  return CONTENT_TYPES[extname(name)] ?? 'application/octet-stream';
}

/**
 * The dev server serves the guest artifacts, the bundled images, v86.wasm and the VM snapshot as
 * the built site does: raw bytes, 404 for what the site would not have. Without this, vite's
 * transform middleware takes an extensionless path (vm-images/dist/bzImage) for a JS module and
 * answers 500, and its HTML fallback answers a missing file with index.html. Snapshots come from
 * Node's snapshot cache (what the build ships when it has the key), else 404: the VM boots cold.
 * Runs before vite's own middlewares (registered directly in configureServer).
 */
let devSnapshot: Promise<string> | undefined;

/** The shipped snapshot for the dev server (one Node boot of the guest, ~2-8 s), in a temp site dir. */
function makeDevSnapshot(): Promise<string> {
  const site = mkdtempSync(join(tmpdir(), 'skiff-dev-snapshot-'));
  return new Promise((ok, fail) => {
    execFile(process.execPath, ['--import', 'tsx', join(root, 'src/web/build/shipped-snapshot.ts'), site], { cwd: root, timeout: 300_000 }, (err, _out, stderr) => {
      if (err) {
        console.warn(`skiff: no VM snapshot for the dev server (first visits boot cold): ${String(stderr || err.message).trim().split('\n').slice(-3).join(' / ')}`);
        devSnapshot = undefined; // the next request may try again
        fail(err);
      } else {
        ok(join(site, SNAPSHOT_DIR));
      }
    });
  });
}

function devStatic(): Plugin {
  const notFound = (res: ServerResponse) => {
    res.statusCode = 404;
    res.end('not found');
  };
  const send = (req: IncomingMessage, res: ServerResponse, file: string, type: string) => {
    let body: Buffer;
    try {
      body = readFileSync(file);
    } catch {
      return notFound(res);
    }
    for (const [k, v] of Object.entries(isolationHeaders)) res.setHeader(k, v);
    res.setHeader('Content-Type', type);
    res.setHeader('Content-Length', body.byteLength);
    res.setHeader('Cache-Control', 'no-cache');
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  // connect strips the mount path: req.url is "/<name>[?query]". One plain file name, or null.
  const nameOf = (req: IncomingMessage): string | null => {
    try {
      const name = decodeURIComponent((req.url ?? '/').split('?')[0]!.slice(1));
      return /^[\w.-]+$/.test(name) && !name.startsWith('.') ? name : null;
    } catch {
      return null;
    }
  };
  return {
    name: 'skiff-dev-static',
    apply: 'serve',
    configureServer(server) {
      server.httpServer?.once('close', () => {
        void devSnapshot?.then((dir) => rmSync(dirname(dirname(dir)), { recursive: true, force: true }), () => {});
        devSnapshot = undefined;
      });
      for (const [src, dst] of STATIC_FILES) {
        server.middlewares.use(`/${dst}`, (req, res) => send(req, res, join(root, src), contentType(dst)));
      }
      for (const dir of STATIC_DIRS) {
        server.middlewares.use(`/${dir}/`, (req, res) => {
          const name = nameOf(req);
          if (!name || !isShippedFile(dir, name)) return notFound(res);
          send(req, res, join(root, dir, name), contentType(name));
        });
      }
      // The service worker (`<skiff-run port>` registers sw.js?ports-only in dev too): compiled
      // from source on each request (the build writes dist/sw.js).
      server.middlewares.use('/sw.js', (req, res, next) => {
        if ((req.url ?? '/').split('?')[0] !== '/') return next();
        const file = join(root, 'src/web/sw.ts');
        transformWithOxc(readFileSync(file, 'utf8'), file, { lang: 'ts', target: 'es2022' }).then((r) => {
          for (const [k, v] of Object.entries(isolationHeaders)) res.setHeader(k, v);
          res.setHeader('Content-Type', 'text/javascript');
          res.setHeader('Cache-Control', 'no-cache');
          res.end(r.code);
        }, next);
      });
      server.middlewares.use(`/${SNAPSHOT_DIR}/`, (req, res) => {
        const name = nameOf(req);
        if (!name?.endsWith('.state')) return notFound(res);
        const cached = join(defaultSnapshotDir(), name);
        if (existsSync(cached)) return send(req, res, cached, 'application/octet-stream');
        // Not in Node's cache (a fresh machine): make what the build would ship, once per server,
        // rather than answer 404: a page's first visit would log a failed request and boot cold.
        devSnapshot ??= makeDevSnapshot();
        devSnapshot.then((dir) => send(req, res, join(dir, name), 'application/octet-stream'), () => notFound(res));
      });
    },
  };
}

/** The component's worker URL module differs between the app build and the library build. */
function libWorkerUrl(): Plugin {
  return {
    name: 'skiff-lib-worker-url',
    enforce: 'pre',
    async resolveId(source, importer, options) {
      if (!source.endsWith('/engine-worker-url.ts')) return null;
      const r = await this.resolve(source, importer, { ...options, skipSelf: true });
      return r ? { ...r, id: r.id.replace(/engine-worker-url\.ts$/, 'engine-worker-url.lib.ts') } : null;
    },
  };
}

/**
 * The engine worker's script in one file: every module its entry imports statically goes into the
 * entry's own chunk. Rolldown would otherwise put what the entry shares with its lazily imported
 * chunks (the Docker API, the builder, the VM runtime) into small common chunks, each one more
 * request after the entry's parse and before the worker can take its first message.
 */
function engineWorkerChunks(entry: string) {
  type Ctx = { getModuleInfo(id: string): { importedIds: readonly string[] } | null };
  // One chunking pass per bundle (the app's build makes one per worker): no engine entry, no group.
  const cores = new WeakMap<Ctx, Set<string>>();
  const coreOf = (ctx: Ctx): Set<string> => {
    let core = cores.get(ctx);
    if (core) return core;
    core = new Set();
    for (const todo = [entry]; todo.length;) {
      const m = todo.pop()!;
      const info = core.has(m) ? null : ctx.getModuleInfo(m);
      if (!info) continue;
      core.add(m);
      todo.push(...info.importedIds);
    }
    cores.set(ctx, core);
    return core;
  };
  return { groups: [{ debugName: 'engine-worker', name: (id: string, ctx: Ctx) => (coreOf(ctx).has(id) ? 'engine-worker' : null) }] };
}

/** After the site: the library build, the static assets, and the service worker's precache list. */
function finishSite(): Plugin {
  let isBuild = false;
  return {
    name: 'skiff-finish-site',
    apply: 'build',
    configResolved(c) { isBuild = c.command === 'build' && !process.env['SKIFF_LIB_PASS']; },
    async closeBundle() {
      if (!isBuild) return;
      process.env['SKIFF_LIB_PASS'] = '1';
      try {
        // One build per entry: built together they share chunks (errors, options ...), and each
        // shared chunk is one more round trip before the page can start the worker and before
        // the worker can take `init` (~40 ms each on a busy machine, on every page load).
        const entries = { 'skiff-run': 'src/web/components/skiff-run.ts', 'skiff-engine-worker': 'workers/engine-worker.ts' };
        for (const [name, entry] of Object.entries(entries)) {
          await build({
            configFile: false, root, base: './', logLevel: 'warn',
            plugins: [libWorkerUrl()],
            optimizeDeps: { include: ['@bjorn3/browser_wasi_shim', 'comlink', 'idb-keyval'] },
            worker: { format: 'es' },
            build: {
              outDir, emptyOutDir: false, copyPublicDir: false, target: 'es2022', assetsDir: 'lib',
              lib: { entry: { [name]: join(root, entry) }, formats: ['es'], fileName: (_f, n) => `${n}.js` },
              rollupOptions: {
                // The worker's lazily imported modules may import what they share with it from
                // the entry itself, rather than from common chunks the entry would wait for.
                preserveEntrySignatures: 'allow-extension',
                output: { chunkFileNames: 'lib/[name]-[hash].js', assetFileNames: 'lib/[name]-[hash][extname]', ...(name === 'skiff-engine-worker' ? { codeSplitting: engineWorkerChunks(join(root, entry)) } : {}) },
              },
            },
          });
        }
      } finally {
        delete process.env['SKIFF_LIB_PASS'];
      }
      copyStatic();
      shipSnapshot();
      const files = listFiles(outDir).filter((f) => f !== 'sw.js' && f !== 'precache.json' && !f.endsWith('.map'));
      writeFileSync(join(outDir, 'precache.json'), JSON.stringify({ version: Date.now().toString(36), files }, null, 1));
    },
  };
}

export default defineConfig({
  root,
  base: './',
  publicDir: false,
  // Two pages, no client-side routes: a missing file is a 404 (not index.html), in dev and preview.
  appType: 'mpa',
  // /registry-proxy/: registries without CORS (Docker Hub) for the page (src/registry/proxy.ts).
  plugins: [finishSite(), devStatic(), registryProxyPlugin(), wispRelayPlugin()],
  optimizeDeps: {
    // Everything the pages and workers import, optimized up front: a dependency discovered late
    // makes vite reload the page (mid-test, mid-run).
    include: ['@bjorn3/browser_wasi_shim', 'comlink', 'idb-keyval', '@xterm/xterm', '@xterm/addon-fit', 'fzstd', '@noble/hashes/sha2.js', '@noble/hashes/utils.js', 'v86'],
    entries: ['index.html', 'docs/example.html'],
  },
  worker: { format: 'es', rolldownOptions: { output: { codeSplitting: engineWorkerChunks(join(root, 'workers/engine-worker.ts')) } } },
  server: { headers: isolationHeaders, cors: true, fs: { allow: [root] } },
  // The site is static and public: any page may load skiff-run.js and its assets (CORS).
  preview: { headers: isolationHeaders, cors: true },
  build: {
    outDir,
    emptyOutDir: true,
    target: 'es2022',
    rollupOptions: {
      input: {
        main: join(root, 'index.html'),
        docs: join(root, 'docs/example.html'),
        sw: join(root, 'src/web/sw.ts'),
      },
      output: { entryFileNames: (c) => (c.name === 'sw' ? 'sw.js' : 'assets/[name]-[hash].js') },
    },
  },
});
