/**
 * The 9P fuzzer: seeded random sequences of well-formed requests against a P9Server exporting
 * an Overlay or a HostDirFileSystem (a bind mount in a temp directory beside a sentinel file and
 * directory). Names and symlink targets are chosen to aim at escapes: symlinks to the sentinel, to
 * its directory, to `..` and `/`, walks through them, creates and renames into them, setattr on
 * fids whose names were replaced. For a bind mount a "host process" also swaps directories for
 * symlinks now and then. Findings: a reply that is not R*, an EIO (an exception other than FsError
 * escaped a handler), an exception out of handle(), anything changed outside the bind directory.
 * Used by fuzz.test.ts (1e5 messages in `npm test`) and fuzz-cli.ts (`npm run fuzz`).
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { Errno } from '../../src/fs/errno.ts';
import { HostDirFileSystem } from '../../src/fs/host-dir.ts';
import { Overlay } from '../../src/fs/overlay.ts';
import { decode, encode } from '../../src/p9/codec.ts';
import { OpenFlags, type RMessage, type TMessage } from '../../src/p9/messages.ts';
import { P9Server } from '../../src/p9/server.ts';
import { hostFixture, type HostFixture } from '../fs/host-fixture.ts';
import { lowerTree, rng } from './client.ts';

export type FuzzTarget = 'overlay' | 'hostdir';

export interface FuzzResult {
  target: FuzzTarget;
  messages: number;
  ok: number;
  errnos: Record<string, number>;
  elapsedMs: number;
  findings: string[];
  /** Open descriptors of this process after the run minus before: a bind mount must hold none. */
  fdGrowth: number;
}

const openFds = () => fs.readdirSync('/proc/self/fd').length;

const ERRNO_NAMES = new Map<number, string>(Object.entries(Errno).map(([k, v]) => [v, k]));

function hostSetup(fx: HostFixture): void {
  const b = fx.bind;
  fs.mkdirSync(join(b, 'etc'));
  fs.writeFileSync(join(b, 'etc', 'passwd'), 'root:x:0:0\n');
  fs.mkdirSync(join(b, 'a', 'b'), { recursive: true });
  fs.writeFileSync(join(b, 'a', 'b', 'f'), 'deep');
  fs.writeFileSync(join(b, 'x'), 'top');
  fs.symlinkSync(fx.sentinel, join(b, 'esc'));
  fs.symlinkSync(fx.outside, join(b, 'out'));
  fs.symlinkSync('../outside', join(b, 'up'));
  fs.symlinkSync('/', join(b, 'abs'));
}

/** What another host process might do to a shared bind directory: swap a directory for a symlink out. */
function swap(fx: HostFixture, pick: () => number): void {
  const dirs: string[] = [];
  const walk = (p: string, depth: number) => {
    for (const e of fs.readdirSync(p, { withFileTypes: true })) {
      if (e.isDirectory() && depth < 4) {
        dirs.push(join(p, e.name));
        walk(join(p, e.name), depth + 1);
      }
    }
  };
  walk(fx.bind, 0);
  if (dirs.length === 0) return;
  const d = dirs[Math.floor(pick() * dirs.length)]!;
  const aside = `${d}.swapped-${Math.floor(pick() * 1e9)}`;
  try {
    fs.renameSync(d, aside);
    fs.symlinkSync(pick() < 0.5 ? fx.outside : join(fx.outside, 'dir'), d);
  } catch {
    // raced with nothing; fine
  }
}

export function fuzz9p(options: { target: FuzzTarget; seed: number; messages: number; checkEvery?: number }): FuzzResult {
  const rand = rng(options.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  let fx: HostFixture | null = null;
  const server = new P9Server({ maxFileSize: 1 << 24 });
  if (options.target === 'hostdir') {
    fx = hostFixture('skiff-fuzz9p-');
    hostSetup(fx);
    server.addExport('vol', new HostDirFileSystem({ path: fx.bind }));
  } else {
    const ov = new Overlay({ lower: lowerTree() });
    ov.symlink(ov.root(), 'esc', '/etc/shadow', { uid: 0, gid: 0 });
    ov.symlink(ov.root(), 'up', '../..', { uid: 0, gid: 0 });
    server.addExport('vol', ov);
  }
  const sentinel = fx?.sentinel ?? '/etc/shadow';
  const names = ['a', 'b', 'f', 'x', 'etc', 'passwd', 'esc', 'out', 'up', 'abs', 'sentinel', 'dir', 'secret', 'new', '..', '.', '', 'x/y', 'n\0ul'];
  const targets = [sentinel, fx?.outside ?? '/etc', '../outside', '..', '/', 'a/b', 'passwd', 'sentinel'];
  const fid = () => Math.floor(rand() * 8);
  const num = () => pick([0, 1, 7, 100, 4096, 65536, 1 << 24, 2 ** 32 - 1, 2 ** 40]);
  const mode = () => pick([0, 0o644, 0o777, 0o4755, 0o40755, 0o100600, 0o120777]);
  const valid = () => pick([0x1, 0x8, 0x1 | 0x8, 0x30, 0x30 | 0x180, 0x6, 0x7f, 0x1ff]);
  const real = ['a', 'etc', 'x', 'esc', 'out', 'up', 'abs', 'new', 'bin', 'usr', 'b'];
  const path = () => [pick(real), ...Array.from({ length: Math.floor(rand() * 3) }, () => pick(rand() < 0.7 ? real.concat(['f', 'passwd', 'sentinel', 'dir']) : names))];
  const makers: (() => TMessage)[] = [
    () => ({ type: 'Twalk', tag: 1, fid: fid(), newfid: fid(), wnames: path() }),
    () => ({ type: 'Twalk', tag: 1, fid: 0, newfid: 1 + Math.floor(rand() * 7), wnames: path() }),
    () => ({ type: 'Twalk', tag: 1, fid: 0, newfid: 1 + Math.floor(rand() * 7), wnames: path() }),
    () => ({ type: 'Twalk', tag: 1, fid: 0, newfid: 1 + Math.floor(rand() * 7), wnames: [pick(real)] }),
    () => ({ type: 'Twalk', tag: 1, fid: fid(), newfid: 1 + Math.floor(rand() * 7), wnames: [pick(names)] }),
    () => ({ type: 'Twalk', tag: 1, fid: 0, newfid: 1 + Math.floor(rand() * 7), wnames: [] }),
    () => ({ type: 'Tlopen', tag: 1, fid: fid(), flags: pick([0, 1, 2, OpenFlags.TRUNC | 1, OpenFlags.DIRECTORY, OpenFlags.APPEND | 2]) }),
    () => ({ type: 'Tlcreate', tag: 1, fid: fid(), name: pick(names), flags: pick([1, 2, 0o302, 0o1102]), mode: mode(), gid: 0 }),
    () => ({ type: 'Tread', tag: 1, fid: fid(), offset: num(), count: pick([0, 10, 4096]) }),
    () => ({ type: 'Twrite', tag: 1, fid: fid(), offset: pick([0, 3, 4096]), data: new TextEncoder().encode('pwned') }),
    () => ({ type: 'Treaddir', tag: 1, fid: fid(), offset: pick([0, 0, 2, 5]), count: pick([64, 4096]) }),
    () => ({ type: 'Tgetattr', tag: 1, fid: fid(), requestMask: 0x3fff }),
    () => ({ type: 'Tsetattr', tag: 1, fid: fid(), valid: valid(), mode: mode(), uid: pick([0, 1000]), gid: pick([0, 1000]), size: pick([0, 1, 100]), atimeSec: 5, atimeNsec: 0, mtimeSec: 6, mtimeNsec: 0 }),
    () => ({ type: 'Tmkdir', tag: 1, dfid: fid(), name: pick(names), mode: mode(), gid: 0 }),
    () => ({ type: 'Tmknod', tag: 1, dfid: fid(), name: pick(names), mode: pick([0o10644, 0o100644, 0o20666]), major: 1, minor: 3, gid: 0 }),
    () => ({ type: 'Tsymlink', tag: 1, fid: fid(), name: pick(names), symtgt: pick(targets), gid: 0 }),
    () => ({ type: 'Tlink', tag: 1, dfid: fid(), fid: fid(), name: pick(names) }),
    () => ({ type: 'Trename', tag: 1, fid: fid(), dfid: fid(), name: pick(names) }),
    () => ({ type: 'Trenameat', tag: 1, olddirfid: fid(), oldname: pick(names), newdirfid: fid(), newname: pick(names) }),
    () => ({ type: 'Trenameat', tag: 1, olddirfid: fid(), oldname: pick(names), newdirfid: fid(), newname: pick(names) }),
    () => ({ type: 'Tunlinkat', tag: 1, dirfid: fid(), name: pick(names), flags: pick([0, 0x200]) }),
    () => ({ type: 'Treadlink', tag: 1, fid: fid() }),
    // xattr fids answer EBADF to everything else: keep them on fid 7.
    () => ({ type: 'Txattrwalk', tag: 1, fid: fid(), newfid: 7, name: pick(['', 'user.a']) }),
    () => ({ type: 'Txattrcreate', tag: 1, fid: 7, name: 'user.a', attrSize: pick([0, 3]), flags: 0 }),
    () => ({ type: 'Tlock', tag: 1, fid: fid(), lockType: pick([0, 1, 2]), flags: 0, start: num(), length: num(), procId: pick([1, 2]), clientId: 'g' }),
    () => ({ type: 'Tclunk', tag: 1, fid: 1 + Math.floor(rand() * 7) }),
    () => ({ type: 'Tremove', tag: 1, fid: 1 + Math.floor(rand() * 7) }),
    () => ({ type: 'Tstatfs', tag: 1, fid: fid() }),
    () => ({ type: 'Tattach', tag: 1, fid: fid(), afid: 0xffffffff, uname: 'u', aname: pick(['vol', 'vol', '', 'other']), nUname: 0 }),
  ];
  const findings: string[] = [];
  const errnos: Record<string, number> = {};
  let ok = 0;
  const send = (msg: TMessage): RMessage | null => {
    let reply: RMessage;
    try {
      reply = decode(server.handle(encode(msg))) as RMessage;
    } catch (err) {
      findings.push(`${msg.type}: handle threw ${(err as Error).message}`);
      return null;
    }
    if (reply.type[0] !== 'R') findings.push(`${msg.type}: reply ${reply.type}`);
    return reply;
  };
  send({ type: 'Tversion', tag: 0xffff, msize: 65536, version: '9P2000.L' });
  send({ type: 'Tattach', tag: 1, fid: 0, afid: 0xffffffff, uname: 'root', aname: 'vol', nUname: 0 });
  const checkEvery = options.checkEvery ?? 2000;
  const fdsBefore = openFds();
  const start = performance.now();
  try {
    for (let i = 0; i < options.messages; i++) {
      const msg = pick(makers)();
      const reply = send(msg);
      if (reply?.type === 'Rlerror') {
        const name = ERRNO_NAMES.get(reply.ecode) ?? String(reply.ecode);
        errnos[name] = (errnos[name] ?? 0) + 1;
        if (reply.ecode === Errno.EIO) findings.push(`${msg.type}: EIO (an exception escaped a handler) at message ${i}`);
      } else if (reply) ok++;
      if (i % 200 === 199) {
        // Keep the export root as fid 0 so walks have somewhere to start.
        send({ type: 'Tclunk', tag: 2, fid: 0 });
        send({ type: 'Tattach', tag: 1, fid: 0, afid: 0xffffffff, uname: 'root', aname: 'vol', nUname: 0 });
      }
      if (fx && i % 997 === 996) swap(fx, rand);
      if (fx && (i % checkEvery === checkEvery - 1 || i === options.messages - 1)) {
        const changes = fx.changes();
        if (changes.length) {
          findings.push(`outside the bind changed by message ${i} (${msg.type}): ${changes.join('; ')}`);
          break;
        }
      }
      if (findings.length > 20) break;
    }
  } finally {
    fx?.cleanup();
  }
  const elapsedMs = performance.now() - start;
  const fdGrowth = openFds() - fdsBefore;
  if (fdGrowth > 8) findings.push(`${fdGrowth} more open descriptors after the run`);
  return { target: options.target, messages: options.messages, ok, errnos, elapsedMs, findings, fdGrowth };
}
