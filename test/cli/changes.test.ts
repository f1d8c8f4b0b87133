import { describe, expect, it } from 'vitest';
import { parseChanges } from '../../src/cli/commands/changes.ts';

describe('commit --change', () => {
  it('parses the instructions Docker accepts', () => {
    expect(parseChanges([
      'CMD ["nginx", "-g", "daemon off;"]', 'ENTRYPOINT /init', 'ENV A=1 B="two words"', 'ENV C 3', 'WORKDIR /srv',
      'USER app', 'LABEL x=y', 'EXPOSE 80 53/udp', 'VOLUME /data',
    ], { Env: ['PATH=/bin', 'A=0'] })).toEqual({
      Cmd: ['nginx', '-g', 'daemon off;'], Entrypoint: ['/bin/sh', '-c', '/init'], Env: ['PATH=/bin', 'A=1', 'B=two words', 'C=3'],
      WorkingDir: '/srv', User: 'app', Labels: { x: 'y' }, ExposedPorts: { '80/tcp': {}, '53/udp': {} }, Volumes: { '/data': {} },
    });
  });

  it('names what it cannot use', () => {
    expect(() => parseChanges(['RUN make'])).toThrow(/RUN is not supported/);
    expect(() => parseChanges(['CMD ["unclosed"'])).toThrow(/not a JSON array/);
  });
});
