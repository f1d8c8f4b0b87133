/**
 * Commands only a Node process has: `__hold` (the background process that keeps a `-d`
 * container running), `system serve` (the Docker Engine API, serve.ts) and `demo` (the tour `npm start` ran before the browser page existed).
 */
import type { Command } from './commands/context.ts';
import { out } from './commands/context.ts';
import { humanSize, table } from './present/format.ts';
import { PROXIED } from './attach.ts';
import { startFailed } from './commands/run.ts';
import { serveCommand } from './serve.ts';
import type { CliIO } from './io.ts';

export function nodeCommands(io: CliIO): Command[] {
  const hold: Command = {
    name: '__hold', usage: 'CONTAINER', summary: 'Keep a detached container running (internal)', hidden: true, minArgs: 1, maxArgs: 1, flags: [],
    async run(_ctx, _f, [id]) {
      const engine = await io.engine();
      for (const sig of ['SIGINT', ...PROXIED] as NodeJS.Signals[]) {
        process.on(sig, () => void engine.killContainer({ id: id!, signal: sig }).catch(() => {}));
      }
      // The starter's channel (attach.ts startDetached) must not keep this process alive.
      process.channel?.unref();
      try {
        await engine.startContainer({ id: id! });
      } catch (err) {
        // The record holds the error, unless --rm removed it: the starter hears it here.
        const e = startFailed(err);
        if (process.send && process.connected) await new Promise((r) => process.send!({ code: e.status, message: e.message }, () => r(undefined)));
        return;
      }
      await engine.waitContainer({ id: id! });
    },
  };

  const demo: Command = {
    name: 'demo', usage: '', summary: 'A short tour: the bundled busybox image, a container with its own writable layer, diff, commit, export', maxArgs: 0, flags: [],
    async run(ctx) {
      const engine = await io.engine();
      const step = (cmd: string, text = ''): void => out(ctx, `$ skiff ${cmd}\n${text}`);
      const img = await engine.resolveImage({ ref: 'skiff/busybox' });
      const list = await engine.listImages({ reference: 'skiff/busybox' });
      step('images skiff/busybox', table(['REPOSITORY', 'TAG', 'IMAGE ID', 'PLATFORM', 'SIZE'], list.map((r) => [r.repository, r.tag, r.id.slice(7, 19), r.platform, humanSize(r.size)])));
      const c = await engine.createContainer({ image: 'skiff/busybox', cmd: ['sh'] });
      step(`create --name ${c.name} skiff/busybox sh`, `${c.id}\n`);
      // Write into the container's own layer, as a process in it would.
      const fs = await engine.containerFs({ id: c.id });
      const etc = fs.lookup(fs.root(), 'etc');
      const note = fs.create(etc, 'hello-from-skiff', { mode: 0o644, uid: 0, gid: 0 });
      fs.write(note, 0, new TextEncoder().encode('written into the container layer\n'));
      await engine.persistContainer({ id: c.id });
      step(`diff ${c.name}`, (await engine.containerChanges({ id: c.id })).map((ch) => `${ch.kind} ${ch.path}\n`).join(''));
      const committed = await engine.commitContainer({ id: c.id, ref: 'skiff/demo:hello', message: 'demo' });
      step(`commit ${c.name} skiff/demo:hello`, `${committed.id}\n`);
      let bytes = 0;
      for await (const chunk of await engine.exportContainer({ id: c.id })) bytes += chunk.byteLength;
      step(`export ${c.name} -o rootfs.tar`, `(${humanSize(bytes)}: ${img.layers.length} image layer${img.layers.length === 1 ? '' : 's'} + the container's writes)\n`);
      await engine.removeContainer({ id: c.id });
      step(`rm ${c.name}`, `${c.name}\n`);
      const r = await engine.removeImage({ ref: 'skiff/demo:hello' });
      step('rmi skiff/demo:hello', [...r.untagged.map((t) => `Untagged: ${t}`), ...r.deleted.map((d) => `Deleted: ${d}`)].join('\n'));
    },
  };
  return [hold, demo, serveCommand(io.engine)];
}
