import { describe, expect, it } from 'vitest';
import { applyChanges, commitConfig, commitCreatedBy, containerConfigOf, mergeConfig } from '../../src/engine/commit-config.ts';
import { resolveContainerSpec } from '../../src/runtime/spec/container-spec.ts';
import type { ContainerConfig } from '../../src/oci/config.ts';
import type { ContainerRecord } from '../../src/engine/types.ts';
import { parseVolumeSpec } from '../../src/runtime/spec/volumes.ts';
import { parsePublish } from '../../src/runtime/spec/ports.ts';
import { parseSignal } from '../../src/runtime/spec/signals.ts';

// The config skiff/busybox-like images carry, and one with more (as a pulled nginx has).
const busybox: ContainerConfig = { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'] };
const nginx: ContainerConfig = {
  Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'NGINX_VERSION=1.25.3'],
  Entrypoint: ['/docker-entrypoint.sh'], Cmd: ['nginx', '-g', 'daemon off;'], ExposedPorts: { '80/tcp': {} },
  Labels: { maintainer: 'NGINX Docker Maintainers' }, StopSignal: 'SIGQUIT', OnBuild: ['RUN echo child'], Shell: ['/bin/bash', '-c'],
  Healthcheck: { Test: ['CMD-SHELL', 'curl -f localhost'], Interval: 30e9, Retries: 3 },
};

describe('commit: config merge (moby daemon/commit.go merge)', () => {
  it('user fields win; empty ones come from the base; Env, ports, labels, volumes are unions', () => {
    const user: ContainerConfig = { Env: ['NGINX_VERSION=9', 'FOO=1'], ExposedPorts: { '8080/tcp': {} }, Labels: { a: 'b' }, Volumes: { '/x': {} }, Healthcheck: { Test: [], Timeout: 5e9 } };
    expect(mergeConfig(user, nginx)).toEqual({
      Env: ['NGINX_VERSION=9', 'FOO=1', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      ExposedPorts: { '8080/tcp': {}, '80/tcp': {} }, Labels: { maintainer: 'NGINX Docker Maintainers', a: 'b' }, Volumes: { '/x': {} },
      Entrypoint: ['/docker-entrypoint.sh'], Cmd: ['nginx', '-g', 'daemon off;'], StopSignal: 'SIGQUIT',
      Healthcheck: { Test: ['CMD-SHELL', 'curl -f localhost'], Timeout: 5e9, Interval: 30e9, Retries: 3 },
    });
    expect(user.Env).toEqual(['NGINX_VERSION=9', 'FOO=1']);
  });

  it('an Entrypoint in the user config keeps its own (maybe empty) Cmd; a present empty Entrypoint is not refilled', () => {
    expect(mergeConfig({ Entrypoint: ['/bin/echo'] }, nginx)).toMatchObject({ Entrypoint: ['/bin/echo'] });
    expect(mergeConfig({ Entrypoint: ['/bin/echo'] }, nginx).Cmd).toBeUndefined();
    expect(mergeConfig({ Entrypoint: [], Cmd: ['ls'] }, nginx)).toMatchObject({ Entrypoint: [], Cmd: ['ls'] });
    expect(mergeConfig({}, nginx)).toMatchObject({ Entrypoint: ['/docker-entrypoint.sh'], Cmd: ['nginx', '-g', 'daemon off;'] });
  });
});

describe('commit: the container config', () => {
  const rec = (o: Parameters<typeof resolveContainerSpec>[0]): ContainerRecord => ({
    id: o.id, name: 'c', labels: o.run?.labels ?? {}, spec: resolveContainerSpec(o),
  }) as unknown as ContainerRecord;

  it('carries what run set (-e -w -u --entrypoint cmd --label -v /anon -p --health-cmd --stop-signal), never the hostname', () => {
    const r = rec({
      id: 'c'.repeat(64), image: nginx,
      run: {
        env: ['FOO=1'], workdir: '/srv', user: 'nobody', entrypoint: ['/bin/sh'], cmd: ['-c', 'echo hi > /f'], labels: { team: 'x' },
        volumes: [parseVolumeSpec('/data'), parseVolumeSpec('named:/n')], publish: parsePublish('8080:81'),
        healthcheck: { Test: ['CMD-SHELL', 'true'] }, stopSignal: parseSignal('SIGUSR1'), hostname: 'box',
      },
    });
    const c = containerConfigOf(r, nginx);
    expect(c).toMatchObject({
      User: 'nobody', WorkingDir: '/srv', Entrypoint: ['/bin/sh'], Cmd: ['-c', 'echo hi > /f'], StopSignal: 'SIGUSR1',
      Labels: { maintainer: 'NGINX Docker Maintainers', team: 'x' }, ExposedPorts: { '80/tcp': {}, '81/tcp': {} }, Volumes: { '/data': {} },
    });
    // A named volume is HostConfig's (Binds), not Config.Volumes.
    expect(Object.keys(c.Volumes!)).toEqual(['/data']);
    expect(c.Env).toEqual(expect.arrayContaining(['FOO=1', 'NGINX_VERSION=1.25.3']));
    expect(c.Healthcheck?.Test).toEqual(['CMD-SHELL', 'true']);
    expect(c).not.toHaveProperty('Hostname');
    // The create-time merge copies neither ONBUILD nor SHELL: a commit drops the parent's (as Docker).
    expect(c).not.toHaveProperty('OnBuild');
    expect(c).not.toHaveProperty('Shell');
    expect(commitCreatedBy(c)).toBe('-c echo hi > /f');
  });

  it('a plain run keeps the image defaults (no WorkingDir "/" or SIGTERM written)', () => {
    const c = containerConfigOf(rec({ id: 'd'.repeat(64), image: busybox, run: { cmd: ['sh', '-c', 'true'] } }), busybox);
    expect(c).toEqual({ Env: busybox.Env, Cmd: ['sh', '-c', 'true'] });
  });
});

describe('commit --change (Docker BuildFromConfig)', () => {
  it('applies the instructions Docker accepts as Dockerfile steps', async () => {
    const out = await applyChanges(busybox, [
      'CMD ["nginx", "-g", "daemon off;"]', 'ENV A=1 B="two words"', 'ENV C 3', 'WORKDIR /srv', 'WORKDIR sub',
      'USER app', 'LABEL x=y', 'EXPOSE 80 53/udp', 'VOLUME /data', 'STOPSIGNAL SIGINT', 'ONBUILD RUN make',
      'HEALTHCHECK --interval=5s --retries=2 CMD wget -q localhost',
    ]);
    expect(out).toMatchObject({
      Cmd: ['nginx', '-g', 'daemon off;'], Env: [...busybox.Env!, 'A=1', 'B=two words', 'C=3'], WorkingDir: '/srv/sub', User: 'app',
      Labels: { x: 'y' }, ExposedPorts: { '80/tcp': {}, '53/udp': {} }, Volumes: { '/data': {} }, StopSignal: 'SIGINT', OnBuild: ['RUN make'],
      Healthcheck: { Test: ['CMD-SHELL', 'wget -q localhost'], Interval: 5e9, Retries: 2 },
    });
    expect(busybox.Cmd).toEqual(['sh']);
    // A shell-form ENTRYPOINT resets the inherited CMD (the classic builder's cmdSet rule).
    expect(await applyChanges(busybox, ['ENTRYPOINT /init'])).toMatchObject({ Entrypoint: ['/bin/sh', '-c', '/init'] });
    expect((await applyChanges(busybox, ['ENTRYPOINT /init'])).Cmd).toBeUndefined();
    expect((await applyChanges(busybox, ['CMD ["a"]', 'ENTRYPOINT ["/e"]']))).toMatchObject({ Cmd: ['a'], Entrypoint: ['/e'] });
  });

  it("refuses others with Docker's message", async () => {
    await expect(applyChanges(busybox, ['RUN make'])).rejects.toThrow(/^run is not a valid change command$/);
    await expect(applyChanges(busybox, ['COPY a b'])).rejects.toThrow(/^copy is not a valid change command$/);
    await expect(applyChanges(busybox, ['FROM scratch'])).rejects.toThrow(/^from is not a valid change command$/);
  });

  it('the body config replaces the container one, the container fills what it leaves empty', async () => {
    const container: ContainerConfig = { Env: ['PATH=/bin', 'FOO=1'], Cmd: ['sh', '-c', 'echo hi'], WorkingDir: '/w', Labels: { a: '1' } };
    expect(await commitConfig(container, { body: { Cmd: ['date'], Env: ['BAR=2'] }, changes: ['LABEL b=2'] })).toEqual({
      Cmd: ['date'], Env: ['BAR=2', 'PATH=/bin', 'FOO=1'], WorkingDir: '/w', Labels: { a: '1', b: '2' },
    });
    expect(await commitConfig(container, { changes: ['CMD ["true"]'] })).toEqual({ ...container, Cmd: ['true'] });
  });
});
