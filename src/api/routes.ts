/**
 * Every route of the API on one Router, over one engine: shared by the Node server (server.ts)
 * and the fetch handler (fetch.ts).
 */
import type { Engine } from '../engine/engine.ts';
import { archiveRoutes } from './archive.ts';
import { commitRoutes } from './commit.ts';
import { containerRoutes } from './containers.ts';
import { serveEvents } from './events.ts';
import { execRoutes } from './exec.ts';
import { Hub } from './hub.ts';
import { imageRoutes } from './images.ts';
import { networkRoutes, pluginRoutes } from './networks.ts';
import { Router } from './router.ts';
import { systemRoutes, UNKNOWN_HOST, type HostInfo } from './system.ts';
import { volumeRoutes } from './volumes.ts';
import { RestartPolicies } from './restart.ts';
import { resourceRoutes } from './stats.ts';

export interface ApiOptions {
  engine: Engine;
  /** Reported as DockerRootDir; default "". */
  home?: string;
  /** The machine as /version and /info report it. */
  host?: HostInfo;
  /**
   * Start what the containers' restart policies say a starting daemon starts (`always`, and
   * `unless-stopped` unless stopped by hand): `skiff system serve` does.
   */
  resumeRestartPolicies?: boolean;
}

export function apiRouter(o: ApiOptions): Router {
  const r = new Router();
  const hub = new Hub(o.engine);
  systemRoutes(r, o.engine, { home: o.home ?? '', host: o.host ?? UNKNOWN_HOST });
  r.add('GET /events', (call) => serveEvents(o.engine, call));
  const policies = new RestartPolicies(o.engine, (id) => hub.start(id));
  hub.onExit = (id, status, ranMs) => void policies.exited(id, status, ranMs).catch(() => {});
  if (o.resumeRestartPolicies) void policies.resume().catch(() => {});
  containerRoutes(r, o.engine, hub, policies);
  resourceRoutes(r, o.engine, (id) => policies.changed(id));
  execRoutes(r, o.engine);
  archiveRoutes(r, o.engine);
  imageRoutes(r, o.engine);
  commitRoutes(r, o.engine);
  volumeRoutes(r, o.engine);
  networkRoutes(r, o.engine);
  pluginRoutes(r);
  return r;
}

