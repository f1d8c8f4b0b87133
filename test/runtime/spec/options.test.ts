import { describe, expect, it } from 'vitest';
import { messageOf } from '../../helpers/errors.ts';
import { parseRunFlags, validateContainerName, validateHostname, validateRunOptions } from '../../../src/runtime/spec/options.ts';
import { bytes, nanoCpus } from '../../../src/runtime/spec/types.ts';

describe('parseRunFlags', () => {
  it('turns a full docker run command line into RunOptions', () => {
    const o = parseRunFlags(
      {
        envFile: [{ name: 'app.env', text: 'A=from-file\nB=file\nPASS\n' }],
        env: ['B=flag', 'C=3', 'NOPE'],
        workdir: '/app',
        user: 'app:staff',
        entrypoint: '/bin/sh',
        cmd: ['-c', 'echo hi'],
        hostname: 'web-1',
        memory: '64m',
        memorySwap: '-1',
        cpus: '0.5',
        pidsLimit: '100',
        readOnly: true,
        tmpfs: ['/run:size=1m'],
        volume: ['data:/data', '/host/dir:/mnt:ro'],
        init: true,
        stopTimeout: '5',
        stopSignal: 'SIGQUIT',
        tty: true,
        interactive: true,
        name: 'web',
        rm: true,
        label: ['tier=front', 'x'],
        labelFile: ['owner=me\n'],
      },
      { hostEnv: { PASS: 'through' } },
    );
    expect(o).toEqual({
      env: ['A=from-file', 'B=file', 'PASS=through', 'B=flag', 'C=3'],
      workdir: '/app',
      user: 'app:staff',
      entrypoint: ['/bin/sh'],
      cmd: ['-c', 'echo hi'],
      hostname: 'web-1',
      memory: 64 * 2 ** 20,
      memorySwap: -1,
      cpus: 5e8,
      pidsLimit: 100,
      readOnly: true,
      tmpfs: [{ destination: '/run', options: ['noexec', 'nosuid', 'nodev', 'size=1m'] }],
      volumes: [
        { type: 'volume', name: 'data', destination: '/data', readOnly: false, copyData: true },
        { type: 'bind', source: '/host/dir', destination: '/mnt', readOnly: true, propagation: 'rprivate' },
      ],
      init: true,
      stopTimeout: 5,
      stopSignal: 3,
      tty: true,
      interactive: true,
      name: 'web',
      rm: true,
      labels: { owner: 'me', tier: 'front', x: '' },
    });
  });

  it('empty flags give empty options; --entrypoint "" clears the entrypoint', () => {
    expect(parseRunFlags({})).toEqual({});
    expect(parseRunFlags({ entrypoint: '', cmd: [] })).toEqual({ entrypoint: [] });
  });

  it('names the flag like pflag does', () => {
    expect(messageOf(() => parseRunFlags({ memory: '64x' }))).toBe(`invalid argument "64x" for "-m, --memory" flag: invalid suffix: 'x'`);
    expect(messageOf(() => parseRunFlags({ memorySwap: 'lots' }))).toBe(
      `invalid argument "lots" for "--memory-swap" flag: invalid size: 'lots'`,
    );
    expect(messageOf(() => parseRunFlags({ cpus: 'half' }))).toBe(
      `invalid argument "half" for "--cpus" flag: failed to parse half as a rational number`,
    );
    expect(messageOf(() => parseRunFlags({ pidsLimit: 'many' }))).toBe(
      `invalid argument "many" for "--pids-limit" flag: strconv.ParseInt: parsing "many": invalid syntax`,
    );
    expect(messageOf(() => parseRunFlags({ env: ['=x'] }))).toBe(`invalid argument "=x" for "-e, --env" flag: invalid environment variable: =x`);
    expect(messageOf(() => parseRunFlags({ stopSignal: 'SIGNOPE' }))).toBe('Invalid signal: SIGNOPE');
    expect(messageOf(() => parseRunFlags({ volume: ['/tmp:'] }))).toBe("invalid volume specification: '/tmp:'");
  });

  it('applies the daemon\'s cross-flag checks', () => {
    expect(messageOf(() => parseRunFlags({ memory: '4m' }))).toBe('Minimum memory limit allowed is 6MB');
    expect(messageOf(() => parseRunFlags({ memorySwap: '64m' }))).toBe(
      'You should always set the Memory limit when using Memoryswap limit, see usage',
    );
    expect(messageOf(() => parseRunFlags({ memory: '64m', memorySwap: '32m' }))).toBe(
      'Minimum memoryswap limit should be larger than memory limit, see usage',
    );
    expect(parseRunFlags({ memory: '6m', memorySwap: '6m' })).toEqual({ memory: 6 * 2 ** 20, memorySwap: 6 * 2 ** 20 });
    expect(messageOf(() => parseRunFlags({ cpus: '2' }))).toBe('Range of CPUs is from 0.01 to 1.00, as there are only 1 CPUs available');
    expect(messageOf(() => parseRunFlags({ cpus: '0.001' }))).toBe('Range of CPUs is from 0.01 to 1.00, as there are only 1 CPUs available');
    expect(parseRunFlags({ cpus: '2' }, { availableCpus: 2 }).cpus).toBe(2e9);
    expect(messageOf(() => parseRunFlags({ workdir: 'rel' }))).toBe("the working directory 'rel' is invalid, it needs to be an absolute path");
    expect(messageOf(() => parseRunFlags({ volume: ['a1:/d', '/h:/d/'] }))).toBe('Duplicate mount point: /d');
    expect(messageOf(() => parseRunFlags({ volume: ['a1:/run'], tmpfs: ['/run'] }))).toBe('Duplicate mount point: /run');
  });

  it('--cap-add, --cap-drop, --group-add and --security-opt', () => {
    expect(parseRunFlags({ capAdd: ['sys_ptrace'], capDrop: ['ALL'], groupAdd: ['audio', '44'], securityOpt: ['seccomp=unconfined', 'no-new-privileges=false'] })).toEqual({
      capAdd: ['sys_ptrace'], capDrop: ['ALL'], groupAdd: ['audio', '44'], seccomp: 'unconfined', noNewPrivileges: false,
    });
    expect(parseRunFlags({ securityOpt: ['no-new-privileges'] })).toEqual({ noNewPrivileges: true });
    expect(parseRunFlags({ securityOpt: ['seccomp:default'] })).toEqual({ seccomp: 'default' });
    expect(messageOf(() => parseRunFlags({ capAdd: ['CAP_FLY'] }))).toBe('unknown capability: "CAP_FLY"');
    expect(messageOf(() => parseRunFlags({ securityOpt: ['seccomp=/etc/profile.json'] }))).toBe(
      '--security-opt seccomp=/etc/profile.json: custom seccomp profiles are not supported (use unconfined or default)',
    );
    expect(messageOf(() => parseRunFlags({ securityOpt: ['apparmor=unconfined'] }))).toBe('--security-opt apparmor: not supported (no AppArmor in the guest)');
    expect(messageOf(() => parseRunFlags({ securityOpt: ['nonsense'] }))).toBe('invalid --security-opt: "nonsense"');
  });

  it('hostnames and container names', () => {
    for (const ok of ['a', 'web-1', 'a.b.c', 'x'.repeat(64), 'A1']) expect(() => validateHostname(ok)).not.toThrow();
    for (const bad of ['-a', 'a-', 'a b', '.a', 'é']) {
      expect(messageOf(() => validateHostname(bad))).toBe(`invalid hostname format: ${bad}`);
    }
    const long = 'x'.repeat(65);
    expect(messageOf(() => validateHostname(long))).toBe(`invalid hostname (${long}): hostname cannot exceed 64 characters`);
    for (const ok of ['web', '/web', 'a_b.c-d', 'A1']) expect(() => validateContainerName(ok)).not.toThrow();
    for (const bad of ['a', '_a', 'a/b', 'a b', '']) {
      expect(messageOf(() => validateContainerName(bad))).toBe(`Invalid container name (${bad}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    }
  });

  it('validateRunOptions works on API-built options', () => {
    expect(() => validateRunOptions({ memory: bytes(64 * 2 ** 20), cpus: nanoCpus(1e9) })).not.toThrow();
    expect(messageOf(() => validateRunOptions({ memory: bytes(1) }))).toBe('Minimum memory limit allowed is 6MB');
  });
});
