import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { messageOf } from '../../helpers/errors.ts';
import { parseGroup, parsePasswd, parseUser, readTextFile, resolvePath, resolveUser } from '../../../src/runtime/spec/users.ts';
import { dir, file, rootfsFromLayers, symlink, whiteout } from './rootfs.ts';

const PASSWD = `root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
app:x:1000:1000:App User,,,:/home/app:/bin/sh
dup:x:1001:1001::/home/dup1:/bin/sh
dup:x:1002:1002::/home/dup2:/bin/sh
nohome:x:1003:1003:::/bin/sh
# a comment line
broken line without fields
bad:x:notanumber:1:::
`;
const GROUP = `root:x:0:
daemon:x:1:
tty:x:5:
www-data:x:33:app
staff:x:50:app,other
users:x:100: app , nobody
app:x:1000:
nogroup:x:65534:
dev:x:2000:app
dev2:x:2000:app
`;

const image = rootfsFromLayers([dir('etc'), file('etc/passwd', PASSWD), file('etc/group', GROUP), dir('home'), dir('home/app')]);

describe('parseUser', () => {
  it('splits user[:group]', () => {
    expect(parseUser('')).toEqual({ user: '' });
    expect(parseUser('nobody')).toEqual({ user: 'nobody' });
    expect(parseUser('1000:1000')).toEqual({ user: '1000', group: '1000' });
    expect(parseUser('app:staff')).toEqual({ user: 'app', group: 'staff' });
    expect(parseUser('app:')).toEqual({ user: 'app' });
    expect(parseUser(':staff')).toEqual({ user: '', group: 'staff' });
  });

  it('parses passwd and group the way libc tolerates them', () => {
    const users = parsePasswd(PASSWD);
    expect(users.map((u) => u.name)).toEqual(['root', 'daemon', 'www-data', 'nobody', 'app', 'dup', 'dup', 'nohome']);
    expect(parseGroup(GROUP).find((g) => g.name === 'users')?.members).toEqual(['app', 'nobody']);
  });
});

describe('resolveUser through the image /etc/passwd and /etc/group (an Overlay)', () => {
  it('defaults to root with its home', () => {
    expect(resolveUser('', { rootfs: image })).toEqual({ uid: 0, gid: 0, additionalGids: [], home: '/root', name: 'root' });
  });

  it('a name gives uid, primary gid, home and supplementary groups from membership', () => {
    expect(resolveUser('app', { rootfs: image })).toEqual({
      uid: 1000, gid: 1000, additionalGids: [33, 50, 100, 2000], home: '/home/app', name: 'app',
    });
  });

  it('a numeric user matching an entry is that entry', () => {
    expect(resolveUser('33', { rootfs: image })).toMatchObject({ uid: 33, gid: 33, home: '/var/www', name: 'www-data' });
  });

  it('a numeric user with no entry keeps gid 0 and home /', () => {
    expect(resolveUser('4242', { rootfs: image })).toEqual({ uid: 4242, gid: 0, additionalGids: [], home: '/' });
  });

  it('an explicit group (name or number) replaces the primary gid and drops supplementary groups', () => {
    expect(resolveUser('app:staff', { rootfs: image })).toEqual({ uid: 1000, gid: 50, additionalGids: [], home: '/home/app', name: 'app' });
    expect(resolveUser('app:33', { rootfs: image })).toMatchObject({ gid: 33, additionalGids: [] });
    expect(resolveUser('1000:4343', { rootfs: image })).toMatchObject({ uid: 1000, gid: 4343 });
    expect(resolveUser('nobody:nogroup', { rootfs: image })).toMatchObject({ uid: 65534, gid: 65534 });
  });

  it('the first of duplicate entries wins; an empty home is /', () => {
    expect(resolveUser('dup', { rootfs: image })).toMatchObject({ uid: 1001, home: '/home/dup1' });
    expect(resolveUser('nohome', { rootfs: image })).toMatchObject({ uid: 1003, home: '/' });
  });

  it('unknown names fail like Docker', () => {
    expect(messageOf(() => resolveUser('x', { rootfs: image }))).toBe('unable to find user x: no matching entries in passwd file');
    expect(messageOf(() => resolveUser('app:nosuch', { rootfs: image }))).toBe(
      'unable to find group nosuch: no matching entries in group file',
    );
    expect(messageOf(() => resolveUser('2147483648', { rootfs: image }))).toBe('uids and gids must be in range 0-2147483647');
  });

  it('without /etc/passwd numbers work and names fail naming the missing file', () => {
    const scratch = rootfsFromLayers([dir('bin'), file('bin/app', 'x')]);
    expect(resolveUser('1000:1000', { rootfs: scratch })).toEqual({ uid: 1000, gid: 1000, additionalGids: [], home: '/' });
    expect(resolveUser('', { rootfs: scratch })).toEqual({ uid: 0, gid: 0, additionalGids: [], home: '/' });
    expect(messageOf(() => resolveUser('app', { rootfs: scratch }))).toBe(
      'unable to find user app: open /etc/passwd: no such file or directory',
    );
    expect(messageOf(() => resolveUser('0:wheel', { rootfs: scratch }))).toBe(
      'unable to find group wheel: open /etc/group: no such file or directory',
    );
  });

  it('follows symlinks inside the root, sees upper layers and whiteouts', () => {
    const fs = rootfsFromLayers(
      [dir('etc'), file('etc/passwd', 'root:x:0:0::/root:/bin/sh\n'), file('etc/group', GROUP)],
      [dir('usr'), dir('usr/share'), file('usr/share/passwd', 'svc:x:700:701::/srv:/bin/sh\n'), whiteout('etc/passwd'), symlink('etc/passwd', '../../../usr/share/passwd')],
      [whiteout('etc/group')],
    );
    expect(readTextFile(fs, '/etc/passwd')).toBe('svc:x:700:701::/srv:/bin/sh\n');
    expect(readTextFile(fs, '/etc/group')).toBeUndefined();
    expect(resolveUser('svc', { rootfs: fs })).toEqual({ uid: 700, gid: 701, additionalGids: [], home: '/srv', name: 'svc' });
    expect(messageOf(() => resolveUser('root', { rootfs: fs }))).toBe('unable to find user root: no matching entries in passwd file');
  });

  it('refuses a huge /etc/passwd instead of reading it', () => {
    const fs = rootfsFromLayers([dir('etc'), file('etc/passwd', 'x'.repeat(4 * 1024 * 1024 + 1))]);
    expect(messageOf(() => resolveUser('root', { rootfs: fs }))).toBe('/etc/passwd is 4194305 bytes, over the 4194304 bytes read for user lookups');
  });

  it('a symlink loop is an error, not a hang', () => {
    const fs = rootfsFromLayers([dir('etc'), symlink('etc/passwd', 'passwd2'), symlink('etc/passwd2', 'passwd')]);
    expect(() => resolvePath(fs, '/etc/passwd')).toThrow(/ELOOP/);
  });

  it('resolves against this machine\'s real /etc/passwd and /etc/group', () => {
    const passwd = readFileSync('/etc/passwd', 'utf8');
    const group = readFileSync('/etc/group', 'utf8');
    const fs = rootfsFromLayers([dir('etc'), file('etc/passwd', passwd), file('etc/group', group)]);
    const users = parsePasswd(passwd);
    expect(users.length).toBeGreaterThan(3);
    for (const u of users.slice(0, 10)) {
      const r = resolveUser(u.name, { rootfs: fs });
      const first = users.find((x) => x.name === u.name)!;
      expect([r.uid, r.gid]).toEqual([first.uid, first.gid]);
      const expectedGroups = parseGroup(group).filter((g) => g.members.includes(u.name)).map((g) => g.gid);
      expect(r.additionalGids).toEqual([...new Set(expectedGroups)]);
    }
    expect(resolveUser('nobody', { rootfs: fs }).uid).toBe(65534);
  });
});
