import { describe, expect, it } from 'vitest';
import { messageOf } from '../../helpers/errors.ts';
import { buildEtcFiles, parseExtraHost } from '../../../src/runtime/spec/etc.ts';

describe('/etc/hosts, /etc/hostname, /etc/resolv.conf', () => {
  it('hosts has Docker\'s loopback block and maps the hostname to 127.0.0.1', () => {
    const f = buildEtcFiles({ hostname: 'web1' });
    const lines = f.hosts.trimEnd().split('\n');
    expect(lines.slice(0, 6)).toEqual([
      '127.0.0.1\tlocalhost',
      '::1\tlocalhost ip6-localhost ip6-loopback',
      'fe00::0\tip6-localnet',
      'ff00::0\tip6-mcastprefix',
      'ff02::1\tip6-allnodes',
      'ff02::2\tip6-allrouters',
    ]);
    expect(lines.at(-1)).toBe('127.0.0.1\tweb1');
    expect(f.hostname).toBe('web1\n');
    expect(f.resolvConf.split('\n').filter((l) => l.startsWith('nameserver'))).toEqual([]);
    expect(f.hosts.endsWith('\n') && f.resolvConf.endsWith('\n')).toBe(true);
  });

  it('domain name, extra hosts and DNS settings', () => {
    const f = buildEtcFiles({
      hostname: 'web1',
      domainname: 'example.org',
      extraHosts: [parseExtraHost('db:10.0.0.5'), parseExtraHost('v6:[::1]')],
      dns: ['9.9.9.9', '2620:fe::fe'],
      dnsSearch: ['example.org', 'corp'],
      dnsOptions: ['ndots:2'],
    });
    expect(f.hosts).toContain('10.0.0.5\tdb\n');
    expect(f.hosts).toContain('::1\tv6\n');
    expect(f.hosts).toContain('127.0.0.1\tweb1.example.org web1\n');
    expect(f.resolvConf.split('\n').slice(1)).toEqual([
      'nameserver 9.9.9.9', 'nameserver 2620:fe::fe', 'search example.org corp', 'options ndots:2', '',
    ]);
  });

  it('rejects malformed --add-host and --dns values', () => {
    expect(messageOf(() => parseExtraHost('justhost'))).toBe('bad format for add-host: "justhost"');
    expect(messageOf(() => parseExtraHost('h:999.1.1.1'))).toBe('invalid IP address in add-host: "999.1.1.1"');
    expect(messageOf(() => buildEtcFiles({ hostname: 'h', dns: ['dns.google'] }))).toBe('dns.google is not an ip address');
  });
});
