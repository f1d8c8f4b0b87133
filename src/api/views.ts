/**
 * Engine records in Docker's JSON shapes: `GET /containers/{id}/json`, `/containers/json` rows,
 * volumes. Fields Docker has and skiff does not track get Docker's zero values, so clients that
 * decode into typed structs (the Go CLI, docker-py) find every field they read.
 */
import type { ContainerRecord, VolumeRecord } from '../engine/types.ts';
import { containerCommand, containerStatus } from '../cli/present/format.ts';
import { signalName } from '../runtime/spec/signals.ts';
import { RECORDED, type DockerRecorded } from './create-body.ts';
import { networkSettingsView } from '../engine/network-views.ts';
import { legacyLinks } from '../engine/network-links.ts';
import { parseLink } from '../runtime/spec/network.ts';
import { boundPorts } from '../runtime/spec/ports.ts';
import { healthStatusOf } from '../engine/container-filter.ts';

/** NetworkSettings.Ports: each published port with its bound host address while it runs (null before). */
export function portsView(c: ContainerRecord): Record<string, Array<{ HostIp: string; HostPort: string }> | null> {
  const out: Record<string, Array<{ HostIp: string; HostPort: string }> | null> = {};
  for (const p of c.spec.ports ?? []) out[`${p.containerPort}/${p.proto}`] ??= null;
  for (const p of boundPorts(c)) (out[`${p.containerPort}/${p.proto}`] ??= []).push({ HostIp: p.hostIp || '127.0.0.1', HostPort: String(p.hostPort) });
  return out;
}

const ZERO_TIME = '0001-01-01T00:00:00Z';

export function recordedOf(c: ContainerRecord): DockerRecorded {
  const r = c.runtimeData?.[RECORDED] as Partial<DockerRecorded> | undefined;
  return {
    restartPolicy: r?.restartPolicy ?? { Name: 'no', MaximumRetryCount: 0 },
    networkMode: r?.networkMode ?? 'default',
    portBindings: r?.portBindings ?? {},
    exposedPorts: r?.exposedPorts ?? {},
    attachStdin: r?.attachStdin ?? false,
    stdinOnce: r?.stdinOnce ?? false,
    domainname: r?.domainname ?? '',
    ...(r?.consoleSize ? { consoleSize: r.consoleSize } : {}),
    ...(r?.publishAllPorts ? { publishAllPorts: true } : {}),
    ...(r?.restartCount ? { restartCount: r.restartCount } : {}),
    ...(r?.manuallyStopped ? { manuallyStopped: true } : {}),
  };
}

export function mountsView(c: ContainerRecord): Array<Record<string, unknown>> {
  return [
    ...c.spec.mounts.map((m) => m.type === 'bind'
      ? { Type: 'bind', Source: m.source, Destination: m.destination, Mode: m.readOnly ? 'ro' : '', RW: !m.readOnly, Propagation: m.propagation }
      : { Type: 'volume', Name: m.name, Source: '', Destination: m.destination, Driver: 'local', Mode: m.readOnly ? 'ro' : '', RW: !m.readOnly, Propagation: '' }),
    ...c.spec.tmpfs.map((t) => ({ Type: 'tmpfs', Source: '', Destination: t.destination, Mode: t.options.join(','), RW: !t.options.includes('ro'), Propagation: '' })),
  ];
}

export function containerInspect(c: ContainerRecord): Record<string, unknown> {
  const r = recordedOf(c);
  const s = c.spec;
  const binds = s.mounts.flatMap((m) => (m.type === 'bind' ? [`${m.source}:${m.destination}${m.readOnly ? ':ro' : ''}`] : m.anonymous ? [] : [`${m.name}:${m.destination}${m.readOnly ? ':ro' : ''}`]));
  return {
    Id: c.id,
    Created: c.created,
    Path: s.args[0] ?? '',
    Args: s.args.slice(1),
    State: {
      Status: c.state, Running: c.state === 'running' || c.state === 'paused', Paused: c.state === 'paused', Restarting: false,
      OOMKilled: c.exit?.oomKilled ?? false, Dead: c.state === 'dead',
      Pid: c.state === 'running' ? Number(c.runtimeData?.['pid'] ?? 0) : 0,
      ExitCode: c.exitCode ?? 0, Error: c.exit?.error ?? '',
      StartedAt: c.startedAt ?? ZERO_TIME, FinishedAt: c.finishedAt ?? ZERO_TIME,
      // Docker omits Health for a container that never had a healthcheck.
      ...(c.health ? { Health: c.health } : {}),
    },
    Image: c.imageId,
    ResolvConfPath: '', HostnamePath: '', HostsPath: '', LogPath: '',
    Name: `/${c.name}`,
    RestartCount: r.restartCount ?? 0,
    Driver: 'skiff',
    Platform: 'linux',
    MountLabel: '', ProcessLabel: '', AppArmorProfile: '',
    ExecIDs: null,
    HostConfig: {
      Binds: binds.length ? binds : null,
      NetworkMode: c.spec.network && c.spec.network.mode !== 'bridge' ? c.spec.network.mode : r.networkMode,
      // Legacy links as Docker lists them: "/NAME:/THIS/ALIAS" (user-network links live in the endpoint).
      Links: legacyLinks(c.spec.network).length ? legacyLinks(c.spec.network).map(parseLink).map((l) => `/${l.name}:/${c.name}/${l.alias}`) : null,
      PortBindings: r.portBindings,
      RestartPolicy: r.restartPolicy,
      AutoRemove: c.autoRemove ?? false,
      ConsoleSize: r.consoleSize ? [r.consoleSize.rows, r.consoleSize.cols] : [0, 0],
      CapAdd: s.security.capAdd.length ? s.security.capAdd : null,
      CapDrop: s.security.capDrop.length ? s.security.capDrop : null,
      GroupAdd: s.groupAdd.length ? s.groupAdd : null,
      ReadonlyRootfs: s.security.readOnlyRootfs,
      SecurityOpt: s.security.seccomp === 'unconfined' ? ['seccomp=unconfined'] : null,
      Tmpfs: s.tmpfs.length ? Object.fromEntries(s.tmpfs.map((t) => [t.destination, t.options.join(',')])) : null,
      Memory: s.limits.memory ?? 0,
      MemorySwap: s.limits.memorySwap ?? 0,
      NanoCpus: s.limits.cpus ?? 0,
      PidsLimit: s.limits.pidsLimit ?? null,
      StorageOpt: s.limits.storageSize ? { size: String(s.limits.storageSize) } : null,
      Init: s.init,
      Runtime: c.runtime,
      LogConfig: { Type: 'local', Config: {} },
      Privileged: false, PublishAllPorts: r.publishAllPorts ?? false, Mounts: null,
    },
    GraphDriver: { Name: 'skiff', Data: null },
    Mounts: mountsView(c),
    Config: {
      Hostname: s.hostname, Domainname: r.domainname, User: s.user,
      AttachStdin: r.attachStdin, AttachStdout: true, AttachStderr: true,
      // The create-time merge (image EXPOSE, --expose, published); records from before it: what the API got.
      ExposedPorts: s.exposedPorts?.length ? Object.fromEntries(s.exposedPorts.map((k) => [k, {}])) : Object.keys(r.exposedPorts).length ? r.exposedPorts : null,
      Tty: s.tty, OpenStdin: s.openStdin, StdinOnce: r.stdinOnce,
      Env: s.env, Cmd: s.cmd.length ? s.cmd : null, Image: c.imageRef,
      Volumes: null, WorkingDir: s.cwd, Entrypoint: s.entrypoint.length ? s.entrypoint : null,
      OnBuild: null, Labels: c.labels, StopSignal: signalName(s.stopSignal), StopTimeout: s.stopTimeout,
      ...(s.healthcheck ? { Healthcheck: s.healthcheck.config } : {}),
    },
    NetworkSettings: { ...networkSettingsView(c, []), Ports: portsView(c) },
  };
}

export function containerSummary(c: ContainerRecord): Record<string, unknown> {
  return {
    Id: c.id,
    Names: [`/${c.name}`],
    Image: c.imageRef,
    ImageID: c.imageId,
    Command: containerCommand(c),
    Created: Math.floor(Date.parse(c.created) / 1000),
    Ports: boundPorts(c).map((p) => ({ IP: p.hostIp || '127.0.0.1', PrivatePort: p.containerPort, PublicPort: p.hostPort, Type: p.proto })),
    Labels: c.labels,
    State: c.state,
    Status: containerStatus(c),
    // API 1.52's summary of the health (older clients ignore it).
    Health: { Status: healthStatusOf(c), FailingStreak: c.health?.FailingStreak ?? 0 },
    HostConfig: { NetworkMode: recordedOf(c).networkMode },
    // The CLI's ps --format {{.Networks}} lists these keys.
    NetworkSettings: { Networks: networkSettingsView(c, [])['Networks'] },
    Mounts: mountsView(c),
  };
}

export function volumeView(v: VolumeRecord): Record<string, unknown> {
  return {
    // A volume lives in skiff's snapshot store, not at a host path.
    Name: v.name, Driver: 'local', Mountpoint: '', CreatedAt: v.created,
    Labels: v.labels, Scope: 'local', Options: {},
    // Docker shows this only with ?size; cheap here, so always.
    UsageData: { Size: v.data?.size ?? 0, RefCount: -1 },
  };
}
