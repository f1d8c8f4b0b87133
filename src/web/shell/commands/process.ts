/**
 * Commands that run processes: run now; exec and logs report clearly until the engine offers them.
 * Each is one entry here: when the engine grows `exec`/`logs`, replace the body with the call.
 */
import { SkiffError } from '../../../errors.ts';
import { humanSize, table } from '../../../cli/format.ts';
import type { DiskUsage } from '../../../engine/images.ts';
import { createFlags, createOptions } from './containers.ts';
import type { ShellCommand } from '../context.ts';

const decoder = (): TextDecoder => new TextDecoder();

function notYet(what: string): never {
  throw new SkiffError('UNSUPPORTED', `${what} is not available in this build of the engine yet`);
}

export const processCommands: ShellCommand[] = [
  {
    spec: { name: 'run', usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]', summary: 'Create and run a new container from an image', minArgs: 1, stopAtPositional: true, flags: [
      ...createFlags,
      { name: 'rm', help: 'Automatically remove the container when it exits' },
      { name: 'detach', short: 'd', help: 'Run container in background and print container ID' },
    ] },
    aliases: ['container run'],
    async run(ctx, f, args) {
      if (f['detach']) notYet('run -d (background containers)');
      const out = decoder();
      const err = decoder();
      const stdin = f['interactive'] === true ? ctx.attachStdin?.() : undefined;
      try {
        const r = await ctx.engine.run({ ...createOptions(f, args), rm: f['rm'] === true, ...(stdin ? { streamStdin: true } : {}) }, {
          stdout: (d) => ctx.stdout(out.decode(d, { stream: true })),
          stderr: (d) => ctx.stderr(err.decode(d, { stream: true })),
          ...(stdin ? {
            stdin: () => stdin.read(),
            started: ({ id }: { id: string }) => stdin.onInterrupt(() => void ctx.engine.api.kill({ id, signal: 'SIGINT' })),
          } : {}),
        });
        return r.exitCode;
      } finally {
        stdin?.detach();
      }
    },
  },
  {
    spec: { name: 'exec', usage: '[OPTIONS] CONTAINER COMMAND [ARG...]', summary: 'Execute a command in a running container', minArgs: 2, stopAtPositional: true, flags: [
      { name: 'interactive', short: 'i', help: 'Keep STDIN open' },
      { name: 'tty', short: 't', help: 'Allocate a pseudo-TTY' },
    ] },
    aliases: ['container exec'],
    async run() { return notYet('exec'); },
  },
  {
    spec: { name: 'logs', usage: '[OPTIONS] CONTAINER', summary: 'Fetch the logs of a container', minArgs: 1, maxArgs: 1, flags: [
      { name: 'timestamps', short: 't', help: 'Show timestamps' },
    ] },
    aliases: ['container logs'],
    async run() { return notYet('logs'); },
  },
  {
    spec: { name: 'system df', usage: '', summary: 'Show disk usage (images, containers, the browser storage quota)', maxArgs: 0, flags: [] },
    aliases: ['df'],
    async run(ctx) {
      const [du, st] = await Promise.all([ctx.engine.api.diskUsage(), ctx.engine.api.storage()]);
      const row = (t: string, u: DiskUsage['images']): string[] => [t, String(u.total), String(u.active), humanSize(u.size), humanSize(u.reclaimable)];
      ctx.stdout(table(['TYPE', 'TOTAL', 'ACTIVE', 'SIZE', 'RECLAIMABLE'], [row('Images', du.images), row('Containers', du.containers), row('Local Volumes', du.volumes)]));
      if (st.usage !== undefined) ctx.stdout(`Browser storage: ${humanSize(st.usage)} used of ${st.quota !== undefined ? humanSize(st.quota) : 'unknown'}${st.persisted ? ' (persistent)' : ''}\n`);
      return 0;
    },
  },
];
