/** Lifecycle commands of the browser shell: start, stop, kill, wait, logs (the engine's). */
import type { ShellCommand } from '../context.ts';
import { str } from '../context.ts';

/** Each named container in turn; failures reported, the rest still done (Docker's way). */
async function each(ctx: Parameters<ShellCommand['run']>[0], ids: string[], fn: (id: string) => Promise<string | void>): Promise<number> {
  let code = 0;
  for (const id of ids) {
    try {
      const line = await fn(id);
      ctx.stdout(`${line ?? id}\n`);
    } catch (err) {
      ctx.stderr(`Error: ${(err as Error).message}\n`);
      code = 1;
    }
  }
  return code;
}

export const lifecycleCommands: ShellCommand[] = [
  {
    spec: { name: 'start', usage: 'CONTAINER [CONTAINER...]', summary: 'Start one or more stopped containers (in the background)', minArgs: 1, flags: [] },
    aliases: ['container start'],
    run: (ctx, _f, args) => each(ctx, args, (id) => ctx.engine.api.startContainer({ id })),
  },
  {
    spec: { name: 'stop', usage: '[OPTIONS] CONTAINER [CONTAINER...]', summary: 'Stop one or more running containers (stop signal, then SIGKILL)', minArgs: 1, flags: [
      { name: 'time', short: 't', value: true, help: 'Seconds to wait before killing the container' },
    ] },
    aliases: ['container stop'],
    run: (ctx, f, args) => each(ctx, args, (id) => ctx.engine.api.stopContainer({ id, ...(str(f['time']) ? { timeout: Number(str(f['time'])) } : {}) })),
  },
  {
    spec: { name: 'kill', usage: '[OPTIONS] CONTAINER [CONTAINER...]', summary: 'Kill one or more running containers', minArgs: 1, flags: [
      { name: 'signal', short: 's', value: true, help: 'Signal to send to the container (default SIGKILL)' },
    ] },
    aliases: ['container kill'],
    run: (ctx, f, args) => each(ctx, args, async (id) => {
      if (!(await ctx.engine.api.kill({ id, ...(str(f['signal']) ? { signal: str(f['signal'])! } : {}) }))) throw new Error(`cannot kill container ${id}: container is not running`);
    }),
  },
  {
    spec: { name: 'wait', usage: 'CONTAINER [CONTAINER...]', summary: 'Block until one or more containers stop, then print their exit codes', minArgs: 1, flags: [] },
    aliases: ['container wait'],
    run: (ctx, _f, args) => each(ctx, args, async (id) => String(await ctx.engine.api.waitContainer({ id }))),
  },
  {
    spec: { name: 'logs', usage: '[OPTIONS] CONTAINER', summary: 'Fetch the logs of a container', minArgs: 1, maxArgs: 1, flags: [
      { name: 'timestamps', short: 't', help: 'Show timestamps' },
      { name: 'tail', short: 'n', value: true, help: 'Number of lines to show from the end of the logs' },
    ] },
    aliases: ['container logs'],
    async run(ctx, f, args) {
      const entries = await ctx.engine.api.logs({ id: args[0]! });
      const dec = { stdout: new TextDecoder(), stderr: new TextDecoder() };
      let lines: { stream: 'stdout' | 'stderr'; text: string; time: string }[] = [];
      for (const e of entries) {
        const text = dec[e.stream].decode(e.data, { stream: true });
        for (const part of text.split(/(?<=\n)/)) {
          const last = lines[lines.length - 1];
          if (last && last.stream === e.stream && !last.text.endsWith('\n')) last.text += part;
          else if (part) lines.push({ stream: e.stream, text: part, time: e.time });
        }
      }
      const tail = str(f['tail']);
      if (tail !== undefined && tail !== 'all') lines = lines.slice(-Math.max(0, Number(tail)));
      for (const l of lines) (l.stream === 'stdout' ? ctx.stdout : ctx.stderr)(`${f['timestamps'] ? `${l.time} ` : ''}${l.text}`);
      return 0;
    },
  },
];
