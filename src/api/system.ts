/** /_ping, /version, /info: what clients ask first (the API version they negotiate down to). */
import { arch, cpus, hostname, release, totalmem } from 'node:os';
import type { Engine } from '../engine/engine.ts';
import { VERSION } from '../cli/commands/table.ts';
import type { Router } from './router.ts';
import { API_VERSION, MIN_API_VERSION } from './router.ts';

/** Node's arch names as Go's (what Docker reports). */
export function goArch(a: string = arch()): string {
  return ({ x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm' } as Record<string, string>)[a] ?? a;
}

export function systemRoutes(r: Router, engine: Engine, o: { home: string }): void {
  r.add('GET /_ping', async (call) => {
    // HEAD goes through here too: the headers carry what matters (Node drops the body).
    const w = call.begin(200, 'text/plain; charset=utf-8', { 'Cache-Control': 'no-cache, no-store, must-revalidate', Pragma: 'no-cache' });
    await w.write('OK');
    w.end();
  });

  r.add('GET /version', async (call) => {
    const details = { ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION, Os: 'linux', Arch: goArch(), KernelVersion: release(), GitCommit: '', GoVersion: `node ${process.version}` };
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
      ID: 'skiff', Name: hostname(), ServerVersion: VERSION,
      Containers: containers.length, ContainersRunning: count('running'), ContainersPaused: count('paused'),
      ContainersStopped: containers.length - count('running') - count('paused'),
      Images: new Set(images.map((i) => i.id)).size,
      Driver: 'skiff', DriverStatus: [], DockerRootDir: o.home,
      Plugins: { Volume: ['local'], Network: [], Authorization: null, Log: ['local'] },
      MemoryLimit: true, SwapLimit: true, CpuCfsPeriod: true, CpuCfsQuota: true, PidsLimit: true,
      OomKillDisable: false, IPv4Forwarding: false, Debug: false, NFd: 0, NGoroutines: 0, SystemTime: new Date().toISOString(),
      LoggingDriver: 'local', CgroupDriver: 'none', CgroupVersion: '2', NEventsListener: 0,
      KernelVersion: release(), OperatingSystem: 'skiff (user-space containers)', OSVersion: VERSION, OSType: 'linux',
      Architecture: goArch(), NCPU: cpus().length, MemTotal: totalmem(),
      IndexServerAddress: 'https://index.docker.io/v1/', RegistryConfig: { IndexConfigs: {}, InsecureRegistryCIDRs: [], Mirrors: [] },
      GenericResources: null, HttpProxy: '', HttpsProxy: '', NoProxy: '', Labels: [], ExperimentalBuild: false,
      Runtimes: { vm: { path: 'skiff-vm' }, wasi: { path: 'skiff-wasi' } }, DefaultRuntime: 'vm',
      Swarm: { LocalNodeState: 'inactive', ControlAvailable: false, NodeID: '', NodeAddr: '', Error: '', RemoteManagers: null },
      LiveRestoreEnabled: false, Isolation: '', InitBinary: 'skiff-init', SecurityOptions: ['name=rootless', 'name=seccomp,profile=builtin'],
      Warnings: null,
    });
  });
}
