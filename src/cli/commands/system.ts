/** system df, system prune, and `inspect` (a container or an image). */
import { SkiffError } from '../../errors.ts';
import { displayText } from '../present/escape.ts';
import { DF_HEADERS } from '../present/headers.ts';
import { formatRows, humanSize, renderTemplate, table } from '../present/format.ts';
import { out, str, type Command } from './context.ts';
import { VERSION } from './version.ts';
import { API_VERSION, MIN_API_VERSION } from '../../api/router.ts';
import { containerView } from './containers.ts';
import { familiar, printDocs } from './images.ts';

export const systemCommands: readonly Command[] = [
  {
    name: 'system df', aliases: ['df'], usage: '[OPTIONS]', summary: 'Show skiff disk usage', maxArgs: 0,
    flags: [{ name: 'format', value: 'string', help: '"table", "json" or a Go-style template' }],
    async run(ctx, f) {
      const du = await ctx.engine.diskUsage();
      const bc = await ctx.engine.buildCacheUsage();
      // The build cache's layers are all reclaimable by `builder prune` (those images share stay).
      const rows: Array<[string, typeof du.images]> = [['Images', du.images], ['Containers', du.containers], ['Local Volumes', du.volumes], ['Layer Data', du.layerData], ['Build Cache', { total: bc.total, active: 0, size: bc.size, reclaimable: bc.size }]];
      const pct = (r: typeof du.images): string => (r.size > 0 ? ` (${Math.round((r.reclaimable / r.size) * 100)}%)` : '');
      const formatted = formatRows(str(f['format']), rows.map(([type, r]) => ({ Type: type, TotalCount: String(r.total), Active: String(r.active), Size: humanSize(r.size), Reclaimable: `${humanSize(r.reclaimable)}${pct(r)}` })), DF_HEADERS);
      if (formatted !== undefined) return void ctx.stdout(formatted);
      out(ctx, table(['TYPE', 'TOTAL', 'ACTIVE', 'SIZE', 'RECLAIMABLE'], rows.map(([type, r]) => [type, String(r.total), String(r.active), humanSize(r.size), `${humanSize(r.reclaimable)}${pct(r)}`])));
      const note = await ctx.host.storageNote?.();
      if (note) out(ctx, note);
    },
  },
  {
    name: 'system prune', usage: '[OPTIONS]', maxArgs: 0,
    summary: 'Remove stopped containers, dangling images (all unused with -a) and, with --volumes, unused anonymous volumes',
    flags: [
      { name: 'all', short: 'a', help: 'Remove all unused images, not just dangling ones' },
      { name: 'volumes', help: 'Prune anonymous volumes' },
      { name: 'force', short: 'f', help: 'Do not prompt for confirmation' },
    ],
    async run(ctx, f) {
      const c = await ctx.engine.pruneContainers();
      const v = f['volumes'] ? await ctx.engine.pruneVolumes() : { deleted: [], reclaimed: 0 };
      const i = await ctx.engine.pruneImages({ all: f['all'] === true });
      if (c.deleted.length) out(ctx, `Deleted Containers:\n${c.deleted.join('\n')}\n\n`);
      if (v.deleted.length) out(ctx, `Deleted Volumes:\n${v.deleted.map((d) => displayText(d)).join('\n')}\n\n`);
      if (i.deleted.length + i.untagged.length) out(ctx, `Deleted Images:\n${[...i.untagged.map((t) => `untagged: ${familiar(t)}`), ...i.deleted.map((d) => `deleted: ${d}`)].join('\n')}\n\n`);
      out(ctx, `Total reclaimed space: ${humanSize(c.reclaimed + v.reclaimed + i.reclaimed)}`);
    },
  },
  {
    name: 'inspect', usage: '[OPTIONS] NAME|ID [NAME|ID...]', summary: 'Return low-level information on containers or images', minArgs: 1,
    flags: [
      { name: 'format', short: 'f', value: 'string', help: 'Format the output using a Go-style template' },
      { name: 'type', value: 'string', help: 'Only "container" or "image"' },
    ],
    async run(ctx, f, names) {
      const type = str(f['type']);
      const docs: Array<Record<string, unknown>> = [];
      for (const name of names) {
        let doc: Record<string, unknown> | undefined;
        if (type !== 'image') doc = await ctx.engine.inspectContainer({ id: name }).then(containerView, () => undefined);
        if (!doc && type !== 'container') doc = await ctx.engine.inspectImage({ ref: name }).catch(() => undefined);
        if (!doc) throw new SkiffError('NOT_FOUND', `No such object: ${name}`);
        docs.push(doc);
      }
      printDocs(ctx, docs, str(f['format']));
    },
  },
  {
    name: 'info', aliases: ['system info'], usage: '[OPTIONS]', summary: 'Display system-wide information', maxArgs: 0,
    flags: [{ name: 'format', short: 'f', value: 'string', help: '"json" or a Go-style template' }],
    async run(ctx, f) {
      const [containers, images, volumes, networks] = await Promise.all([
        ctx.engine.listContainers({ all: true }), ctx.engine.listImages(), ctx.engine.listVolumes(), ctx.engine.listNetworks(),
      ]);
      const count = (s: string) => containers.filter((c) => c.state === s).length;
      // Docker's /info field names, so `--format '{{.ContainersRunning}}'` reads as with Docker.
      const doc = {
        Containers: containers.length, ContainersRunning: count('running'), ContainersPaused: count('paused'),
        ContainersStopped: containers.length - count('running') - count('paused'), Images: images.length,
        Volumes: volumes.length, Networks: networks.length, ServerVersion: VERSION, Driver: 'skiff', OSType: 'linux',
        OperatingSystem: ctx.host.kind === 'browser' ? 'skiff in a browser (Linux guest in v86, WebAssembly)' : 'skiff (Linux guest in v86, WebAssembly)',
        Runtimes: { vm: { path: 'v86 + crun' }, wasi: { path: 'WASI preview 1' } }, CgroupVersion: '2',
      };
      const format = str(f['format']);
      if (format) return void out(ctx, format === 'json' ? JSON.stringify(doc) : renderTemplate(format, doc));
      out(ctx, [
        'Client:', ` Version:    ${VERSION}`, ` Context:    ${ctx.host.kind === 'browser' ? 'browser' : 'default'}`, '',
        'Server:', ` Containers: ${doc.Containers}`, `  Running: ${doc.ContainersRunning}`, `  Paused: ${doc.ContainersPaused}`, `  Stopped: ${doc.ContainersStopped}`,
        ` Images: ${doc.Images}`, ` Volumes: ${doc.Volumes}`, ` Networks: ${doc.Networks}`, ` Server Version: ${VERSION}`,
        ' Storage Driver: skiff (an overlay over content-addressed layers)', ` Cgroup Version: ${doc.CgroupVersion}`,
        ' Runtimes: vm wasi', ' Default Runtime: by image (linux/386: vm, wasi/wasm: wasi)',
        ` Operating System: ${doc.OperatingSystem}`, ' OSType: linux',
      ].join('\n'));
    },
  },
  {
    name: 'version', usage: '[OPTIONS]', summary: 'Show the skiff version information', maxArgs: 0,
    flags: [{ name: 'format', short: 'f', value: 'string', help: '"json" or a Go-style template' }],
    async run(ctx, f) {
      const where = ctx.host.kind === 'browser' ? 'browser' : 'node';
      // Docker's field names (`--format '{{.Server.APIVersion}}'`); the Engine API is src/api's.
      const doc = {
        Client: { Platform: { Name: 'skiff' }, Version: VERSION, APIVersion: API_VERSION, Os: where, Context: where === 'browser' ? 'browser' : 'default' },
        Server: { Platform: { Name: 'skiff' }, Version: VERSION, APIVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION, Os: 'linux', Arch: '386 (guest), wasm (WASI)' },
      };
      const format = str(f['format']);
      if (format) return void out(ctx, format === 'json' ? JSON.stringify(doc) : renderTemplate(format, doc));
      out(ctx, [
        'Client:', ` Version:           ${VERSION}`, ` API version:       ${API_VERSION}`, ` Context:           ${doc.Client.Context}`, '',
        'Server: skiff', ' Engine:', `  Version:          ${VERSION}`, `  API version:      ${API_VERSION} (minimum version ${MIN_API_VERSION})`,
        `  OS/Arch:          linux/386 (the guest), wasi/wasm`, `  Runs in:          ${where === 'browser' ? 'this browser tab' : 'this Node process (or skiff system serve)'}`,
      ].join('\n'));
    },
  },
];
