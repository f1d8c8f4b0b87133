/** `-p` / `-P` as Docker writes them, into the spec's ports; and what `port` / `ps` read back. */
import { describe, expect, it } from 'vitest';
import { parseRunFlags } from '../../../src/runtime/spec/options.ts';
import { resolveContainerSpec } from '../../../src/runtime/spec/container-spec.ts';
import { boundPorts, formatBinding, parseExpose, parsePublish, portsColumn, resolvePorts } from '../../../src/runtime/spec/ports.ts';

describe('published ports', () => {
  it('parses every -p form Docker accepts for IPv4', () => {
    expect(parsePublish('80')).toEqual([{ hostIp: '', hostPort: 0, containerPort: 80, proto: 'tcp' }]);
    expect(parsePublish('8080:80')).toEqual([{ hostIp: '', hostPort: 8080, containerPort: 80, proto: 'tcp' }]);
    expect(parsePublish('0.0.0.0:8080:80/udp')).toEqual([{ hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80, proto: 'udp' }]);
    expect(parsePublish('127.0.0.1::80')).toEqual([{ hostIp: '127.0.0.1', hostPort: 0, containerPort: 80, proto: 'tcp' }]);
    expect(parsePublish('9000-9001:80-81').map((p) => `${p.hostPort}>${p.containerPort}`)).toEqual(['9000>80', '9001>81']);
    expect(parsePublish('80-81').map((p) => p.containerPort)).toEqual([80, 81]);
  });

  it('refuses malformed specs naming what is wrong', () => {
    expect(() => parsePublish('')).toThrow(/invalid publish spec/);
    expect(() => parsePublish('80/sctp')).toThrow(/invalid proto "sctp"/);
    expect(() => parsePublish('70000')).toThrow(/invalid container port "70000"/);
    expect(() => parsePublish('a:80')).toThrow(/invalid host port "a"/);
    expect(() => parsePublish('::1:80:80')).toThrow(/invalid publish spec|IPv4 only/);
    expect(() => parsePublish('9000-9002:80-81')).toThrow(/ranges differ/);
    expect(() => parseRunFlags({ publish: ['nope'] })).toThrow(/-p, --publish/);
  });

  it('-P adds every exposed port not published already; a host port twice is refused', () => {
    const ports = resolvePorts({ publish: parsePublish('8080:80'), publishAll: true, exposed: { '80/tcp': {}, '443/tcp': {}, '53/udp': {}, 'junk': {} } });
    expect(ports).toEqual([
      { hostIp: '', hostPort: 8080, containerPort: 80, proto: 'tcp' },
      { hostIp: '', hostPort: 0, containerPort: 443, proto: 'tcp' },
      { hostIp: '', hostPort: 0, containerPort: 53, proto: 'udp' },
    ]);
    expect(() => resolvePorts({ publish: [...parsePublish('8080:80'), ...parsePublish('8080:81')] })).toThrow(/published twice/);
  });

  it('reaches the spec from the run flags, with the image EXPOSE for -P', () => {
    const run = parseRunFlags({ publish: ['127.0.0.1:8080:80'], publishAll: true });
    const spec = resolveContainerSpec({ id: 'c1', image: { Cmd: ['httpd'], ExposedPorts: { '80/tcp': {}, '8443/tcp': {} } }, run });
    expect(spec.ports).toEqual([
      { hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, proto: 'tcp' },
      { hostIp: '', hostPort: 0, containerPort: 8443, proto: 'tcp' },
    ]);
    expect(resolveContainerSpec({ id: 'c2', image: { Cmd: ['sh'] }, run: {} }).ports).toBeUndefined();
  });

  it('port and ps show the bound ports of running containers only', () => {
    const ports = [{ hostIp: '127.0.0.1', hostPort: 32768, containerPort: 80, proto: 'tcp', containerIp: '172.17.0.2' }];
    expect(boundPorts({ state: 'running', runtimeData: { ports } })).toHaveLength(1);
    expect(boundPorts({ state: 'exited', runtimeData: { ports } })).toEqual([]);
    expect(boundPorts({ state: 'running', runtimeData: { ports: 'junk' } })).toEqual([]);
    expect(portsColumn(boundPorts({ state: 'running', runtimeData: { ports } }))).toBe('127.0.0.1:32768->80/tcp');
    expect(formatBinding(ports[0]!)).toBe('80/tcp -> 127.0.0.1:32768');
  });

  it('--expose as docker/cli reads it: a port or a range, tcp by default, each port once in Config.ExposedPorts', () => {
    expect(parseExpose('5432')).toEqual(['5432/tcp']);
    expect(parseExpose('53/UDP')).toEqual(['53/udp']);
    expect(parseExpose('7000-7002/sctp')).toEqual(['7000/sctp', '7001/sctp', '7002/sctp']);
    expect(parseExpose('9-9')).toEqual(['9/tcp']);
    expect(() => parseExpose('abc')).toThrow("invalid range format for --expose: invalid start port 'abc': invalid syntax");
    expect(() => parseExpose('70000')).toThrow("invalid range format for --expose: invalid start port '70000': value out of range");
    expect(() => parseExpose('10-5')).toThrow('invalid range format for --expose: invalid port range: 10-5');
    expect(() => parseExpose('1-x')).toThrow("invalid end port 'x'");
    expect(() => parseExpose('80/icmp')).toThrow('invalid protocol "icmp" for --expose: 80/icmp (tcp, udp or sctp)');
    expect(() => parseRunFlags({ expose: ['8080:80'] })).toThrow(/invalid range format for --expose/);
    // The image's EXPOSE, --expose and the published ports, sorted; -P publishes --expose ports too.
    const run = parseRunFlags({ expose: ['8000-8001', '53/udp', '8000'], publish: ['127.0.0.1:9090:90'], publishAll: true });
    expect(run.expose).toEqual(['8000/tcp', '8001/tcp', '53/udp']);
    const spec = resolveContainerSpec({ id: 'c1', image: { Cmd: ['sh'], ExposedPorts: { '80/tcp': {} } }, run });
    expect(spec.exposedPorts).toEqual(['53/udp', '80/tcp', '8000/tcp', '8001/tcp', '90/tcp']);
    expect(spec.ports!.map((p) => `${p.containerPort}/${p.proto}`)).toEqual(['90/tcp', '53/udp', '80/tcp', '8000/tcp', '8001/tcp']);
    expect(resolveContainerSpec({ id: 'c2', image: { Cmd: ['sh'] }, run: {} }).exposedPorts).toBeUndefined();
  });
});
