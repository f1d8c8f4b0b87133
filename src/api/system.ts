/** /_ping, /version, /info: what clients ask first (the API version they negotiate down to). */
import type { Engine } from '../engine/engine.ts';
import { VERSION } from '../cli/commands/table.ts';
import { isSkiffError } from '../errors.ts';
import { field } from './create-body.ts';
import { ApiError, badRequest } from './errors.ts';
import { imageSummaries } from './images.ts';
import type { Router } from './router.ts';
import { containerSummary, volumeView } from './views.ts';
import { API_VERSION, MIN_API_VERSION } from './router.ts';

/** What /version and /info tell about the machine (Node: from node:os, server.ts). */
export interface HostInfo {
  /** Go's names: amd64, 386, arm64. */
  arch: string;
  ncpu: number;
  memTotal: number;
  hostname: string;
  kernel: string;
  /** "node v20..." or the browser's user agent. */
  runtime: string;
}

export const UNKNOWN_HOST: HostInfo = { arch: 'wasm', ncpu: 1, memTotal: 0, hostname: 'skiff', kernel: '', runtime: 'javascript' };

/** Node's arch names as Go's (what Docker reports). */
export function goArch(a: string): string {
  return ({ x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm' } as Record<string, string>)[a] ?? a;
}

export function systemRoutes(r: Router, engine: Engine, o: { home: string; host: HostInfo }): void {
  const h = o.host;
  r.add('GET /_ping', async (call) => {
    // HEAD goes through here too: the headers carry what matters (Node drops the body).
    const w = call.begin(200, 'text/plain; charset=utf-8', { 'Cache-Control': 'no-cache, no-store, must-revalidate', Pragma: 'no-cache' });
    await w.write('OK');
    w.end();
  });

  r.add('GET /version', async (call) => {
    const details = { ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION, Os: 'linux', Arch: h.arch, KernelVersion: h.kernel, GitCommit: '', GoVersion: h.runtime };
    call.send(200, {
      Platform: { Name: `skiff ${VERSION}` },
      Components: [{ Name: 'Engine', Version: VERSION, Details: details }],
      Version: VERSION, ...details, BuildTime: '', Experimental: false,
    });
  });

  r.add('GET /info', async (call) => {
    const containers = await engine.listContainers({ all: true });
    const count = (s: string) => containers.filter((c) => c.state === s).length;
    const images = await engine.listImages();
    call.send(200, {
      ID: 'skiff', Name: h.hostname, ServerVersion: VERSION,
      Containers: containers.length, ContainersRunning: count('running'), ContainersPaused: count('paused'),
      ContainersStopped: containers.length - count('running') - count('paused'),
      Images: new Set(images.map((i) => i.id)).size,
      Driver: 'skiff', DriverStatus: [], DockerRootDir: o.home,
      Plugins: { Volume: ['local'], Network: [], Authorization: null, Log: ['local'] },
      MemoryLimit: true, SwapLimit: true, CpuCfsPeriod: true, CpuCfsQuota: true, PidsLimit: true,
      OomKillDisable: false, IPv4Forwarding: false, Debug: false, NFd: 0, NGoroutines: 0, SystemTime: new Date().toISOString(),
      LoggingDriver: 'local', CgroupDriver: 'none', CgroupVersion: '2', NEventsListener: 0,
      KernelVersion: h.kernel, OperatingSystem: 'skiff (user-space containers)', OSVersion: VERSION, OSType: 'linux',
      Architecture: h.arch, NCPU: h.ncpu, MemTotal: h.memTotal,
      IndexServerAddress: 'https://index.docker.io/v1/', RegistryConfig: { IndexConfigs: {}, InsecureRegistryCIDRs: [], Mirrors: [] },
      GenericResources: null, HttpProxy: '', HttpsProxy: '', NoProxy: '', Labels: [], ExperimentalBuild: false,
      Runtimes: { vm: { path: 'skiff-vm' }, wasi: { path: 'skiff-wasi' } }, DefaultRuntime: 'vm',
      Swarm: { LocalNodeState: 'inactive', ControlAvailable: false, NodeID: '', NodeAddr: '', Error: '', RemoteManagers: null },
      LiveRestoreEnabled: false, Isolation: '', InitBinary: 'skiff-init', SecurityOptions: ['name=rootless', 'name=seccomp,profile=builtin'],
      Warnings: null,
    });
  });

  // `docker system df`: the lists the client sums itself (LayersSize is the images' blobs, counted once).
  r.add('GET /system/df', async (call) => {
    const [du, images, containers, volumes] = await Promise.all([
      engine.diskUsage(), imageSummaries(engine), engine.listContainers({ all: true }), engine.listVolumes(),
    ]);
    const imageSize = new Map(images.map((i) => [i.Id, i['Size'] as number]));
    const refs = new Map<string, number>();
    for (const c of containers) for (const v of c.volumes ?? []) refs.set(v, (refs.get(v) ?? 0) + 1);
    call.send(200, {
      LayersSize: du.images.size,
      Images: images,
      Containers: containers.map((c) => {
        const rw = c.upper?.size ?? 0;
        return { ...containerSummary(c), SizeRw: rw, SizeRootFs: rw + (imageSize.get(c.imageId) ?? 0) };
      }),
      Volumes: volumes.map((v) => ({ ...volumeView(v), UsageData: { Size: v.data?.size ?? 0, RefCount: refs.get(v.name) ?? 0 } })),
      BuildCache: [],
    });
  });

  // `docker login`: the daemon checks the credentials against the registry; the client keeps them
  // (its config.json, which skiff reads too), so nothing is stored here and `docker logout` is the
  // client's alone.
  r.add('POST /auth', async (call) => {
    const body = await call.json();
    const username = field<string>(body, 'username', 'string', 'username') ?? '';
    const password = field<string>(body, 'password', 'string', 'password') ?? '';
    const server = field<string>(body, 'serveraddress', 'string', 'serveraddress');
    if (!username || !password) throw badRequest('login: a username and a password are required');
    try {
      await engine.login({ username, password, store: false, ...(server ? { registry: server } : {}) });
    } catch (err) {
      // Docker answers a refused login with 401, whatever the registry said.
      if (isSkiffError(err) && err.code === 'REGISTRY' && /unauthorized/.test(err.message)) throw new ApiError(401, err.message);
      throw err;
    }
    call.send(200, { Status: 'Login Succeeded', IdentityToken: '' });
  });
}
