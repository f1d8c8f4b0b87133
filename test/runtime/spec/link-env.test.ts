import { describe, expect, it } from 'vitest';
import { compareLinkPorts, linkEnv } from '../../../src/runtime/spec/link-env.ts';

// Cases from moby's daemon/links/links_test.go, asserted in the order ToEnv emits them.
const IP = '172.0.17.2';

describe('legacy link variables (Docker daemon/links)', () => {
  it('one port: the alias is the last element of the name, upper-cased, - as _', () => {
    expect(linkEnv({ name: '/db/docker-1', ip: IP, env: [], exposedPorts: ['6379/tcp'] })).toEqual([
      'DOCKER_1_PORT=tcp://172.0.17.2:6379',
      'DOCKER_1_PORT_6379_TCP=tcp://172.0.17.2:6379',
      'DOCKER_1_PORT_6379_TCP_ADDR=172.0.17.2',
      'DOCKER_1_PORT_6379_TCP_PORT=6379',
      'DOCKER_1_PORT_6379_TCP_PROTO=tcp',
      'DOCKER_1_NAME=/db/docker-1',
    ]);
  });

  it("the linked container's env as ALIAS_ENV_*, but HOME and PATH; entries without = skipped", () => {
    const env = linkEnv({
      name: '/web/db', ip: IP, exposedPorts: [],
      env: ['PASSWORD=gordon', 'PATH=/usr/bin', 'HOME=/root', 'HOSTNAME=set-by-hand', 'EMPTY=', 'A=b=c', 'NOEQUALS'],
    });
    expect(env).toEqual(['DB_NAME=/web/db', 'DB_ENV_PASSWORD=gordon', 'DB_ENV_HOSTNAME=set-by-hand', 'DB_ENV_EMPTY=', 'DB_ENV_A=b=c']);
  });

  it('sorts TCP first, then other protocols by name, by number within one', () => {
    const ports = ['6379/tcp', '6376/udp', '6380/tcp', '6376/sctp', '6381/tcp', '6381/udp', '6375/udp', '6375/sctp']
      .map((k) => ({ num: Number(k.split('/')[0]), proto: k.split('/')[1]! }));
    expect(ports.sort(compareLinkPorts).map((p) => `${p.num}/${p.proto}`)).toEqual(
      ['6379/tcp', '6380/tcp', '6381/tcp', '6375/sctp', '6376/sctp', '6375/udp', '6376/udp', '6381/udp']);
  });

  it('several ports: ALIAS_PORT is the lowest TCP one, a TCP run gets START/END bounds, UDP ports listed after', () => {
    const env = linkEnv({
      name: '/db/docker', ip: IP, env: ['PASSWORD=gordon'],
      exposedPorts: ['6300/udp', '6379/tcp', '6380/tcp', '6381/tcp', '6382/udp'],
    });
    const per = (n: number, proto: string): string[] => {
      const P = proto.toUpperCase();
      return [`DOCKER_PORT_${n}_${P}=${proto}://${IP}:${n}`, `DOCKER_PORT_${n}_${P}_ADDR=${IP}`, `DOCKER_PORT_${n}_${P}_PORT=${n}`, `DOCKER_PORT_${n}_${P}_PROTO=${proto}`];
    };
    expect(env).toEqual([
      'DOCKER_PORT=tcp://172.0.17.2:6379',
      ...per(6379, 'tcp'), ...per(6380, 'tcp'), ...per(6381, 'tcp'),
      ...per(6300, 'udp'),
      'DOCKER_PORT_6379_TCP_START=tcp://172.0.17.2:6379', 'DOCKER_PORT_6379_TCP_PORT_START=6379',
      'DOCKER_PORT_6379_TCP_END=tcp://172.0.17.2:6381', 'DOCKER_PORT_6379_TCP_PORT_END=6381',
      ...per(6382, 'udp'),
      'DOCKER_NAME=/db/docker',
      'DOCKER_ENV_PASSWORD=gordon',
    ]);
    // The same set as moby's TestLinkMultipleEnv, which compares sorted.
    expect(env.length).toBe(27);
  });

  it('a run that reaches the last port is closed there; a UDP-only set makes ALIAS_PORT udp', () => {
    const env = linkEnv({ name: '/app/dns', ip: '10.0.0.5', env: [], exposedPorts: ['53/udp', '54/udp'] });
    expect(env[0]).toBe('DNS_PORT=udp://10.0.0.5:53');
    expect(env.filter((e) => /_(START|END)=/.test(e))).toEqual([
      'DNS_PORT_53_UDP_START=udp://10.0.0.5:53', 'DNS_PORT_53_UDP_PORT_START=53',
      'DNS_PORT_53_UDP_END=udp://10.0.0.5:54', 'DNS_PORT_53_UDP_PORT_END=54',
    ]);
    // After the run's own four per-port lines.
    expect(env.indexOf('DNS_PORT_53_UDP_START=udp://10.0.0.5:53')).toBe(9);
  });

  it('the same number on TCP and UDP is two ports, not a run; duplicates and keys without proto (tcp) count once', () => {
    const env = linkEnv({ name: '/w/x', ip: IP, env: [], exposedPorts: ['80', '80/tcp', '80/udp', '81/UDP'] });
    expect(env.filter((e) => e.endsWith('_PROTO=tcp') || e.endsWith('_PROTO=udp'))).toEqual(
      ['X_PORT_80_TCP_PROTO=tcp', 'X_PORT_80_UDP_PROTO=udp', 'X_PORT_81_UDP_PROTO=udp']);
    // 80/udp and 81/udp are consecutive on one protocol: a run.
    expect(env).toContain('X_PORT_80_UDP_PORT_END=81');
    expect(env.some((e) => e.startsWith('X_PORT_80_TCP_START'))).toBe(false);
  });

  it('two runs of one protocol: each gets its bounds, the first once the gap is seen, the second at the last port', () => {
    const env = linkEnv({ name: '/a/b', ip: '1.2.3.4', env: [], exposedPorts: ['84/tcp', '80/tcp', '83/tcp', '81/tcp'] });
    const per = (n: number): string[] => [`B_PORT_${n}_TCP=tcp://1.2.3.4:${n}`, `B_PORT_${n}_TCP_ADDR=1.2.3.4`, `B_PORT_${n}_TCP_PORT=${n}`, `B_PORT_${n}_TCP_PROTO=tcp`];
    const run = (a: number, z: number): string[] => [`B_PORT_${a}_TCP_START=tcp://1.2.3.4:${a}`, `B_PORT_${a}_TCP_PORT_START=${a}`, `B_PORT_${a}_TCP_END=tcp://1.2.3.4:${z}`, `B_PORT_${a}_TCP_PORT_END=${z}`];
    expect(env).toEqual(['B_PORT=tcp://1.2.3.4:80', ...per(80), ...per(81), ...per(83), ...run(80, 81), ...per(84), ...run(83, 84), 'B_NAME=/a/b']);
  });

  it('no exposed port: only the name and the env', () => {
    expect(linkEnv({ name: '/web/cache', ip: IP, env: ['A=1'], exposedPorts: [] })).toEqual(['CACHE_NAME=/web/cache', 'CACHE_ENV_A=1']);
  });
});
