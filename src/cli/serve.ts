/**
 * `skiff system serve`: the Docker Engine API (src/api) on a socket private to the user, so the
 * `docker` CLI, docker-compose and SDKs drive skiff. It runs in a Node process (registered by
 * cli/node-commands.ts): containers started through the API run in it, and the skiff CLI sees and
 * reaches them through the engine's state and control channel, as it does its own.
 */
import type { Engine } from '../engine/engine.ts';
import { out, str, type Command } from './commands/context.ts';

export function serveCommand(engine: () => Promise<Engine>): Command {
  return {
    name: 'system serve', usage: '[OPTIONS]', maxArgs: 0,
    summary: 'Serve the Docker Engine API (1.43) for docker, docker-compose and SDKs',
    flags: [
      { name: 'host', short: 'H', value: 'string', help: 'unix:///path/to/socket (default $SKIFF_HOME/docker.sock) or tcp://127.0.0.1:PORT (loopback only)' },
      { name: 'debug', help: 'Log every request to stderr' },
    ],
    async run(ctx, f) {
      const [{ createApiServer, listenOn, parseListenAddress, API_VERSION }, { defaultHome }, { join }] = await Promise.all([
        import('../api/index.ts'), import('../node.ts'), import('node:path'),
      ]);
      const home = defaultHome();
      const addr = parseListenAddress(str(f['host']) ?? `unix://${join(home, 'docker.sock')}`);
      const e = await engine();
      const debug = f['debug'] === true;
      const server = createApiServer({
        engine: e, home,
        // Docker's daemon start: containers whose restart policy says so start again.
        resumeRestartPolicies: true,
        onError: (err, method, path) => ctx.stderr(`skiff serve: ${method} ${path}: ${err instanceof Error ? (debug ? err.stack : err.message) : String(err)}\n`),
        ...(debug ? { log: (line: string) => ctx.stderr(`skiff serve: ${line}\n`) } : {}),
      });
      // Hijacked connections (attach, exec) outlive requests: closing must end them too.
      const sockets = new Set<import('node:net').Socket>();
      server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
      const where = await listenOn(server, addr);
      out(ctx, `Serving the Docker Engine API ${API_VERSION} on ${where}\nexport DOCKER_HOST=${where}`);
      await new Promise<void>((resolve) => {
        const stop = () => { process.off('SIGINT', stop); process.off('SIGTERM', stop); resolve(); };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
  };
}
