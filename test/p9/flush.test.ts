/**
 * Tflush of a request whose reply is still to come (an fsync waiting for its save, a read waiting
 * for the content store): the client frees the tag when Rflush arrives and reuses it, so the
 * server must send the late reply first, never after Rflush under a tag that means another
 * request by then.
 */
import { expect, it } from 'vitest';
import { Overlay } from '../../src/fs/overlay.ts';
import { decode, encode } from '../../src/p9/codec.ts';
import { NOFID, OpenFlags, type RMessage, type TMessage } from '../../src/p9/messages.ts';
import { P9Server } from '../../src/p9/server.ts';
import { toHandle9p } from '../../src/p9/v86.ts';
import { TestClient } from './client.ts';

it('a flushed fsync still waiting for its save is answered before Rflush', async () => {
  let saved!: () => void;
  const fs = new Overlay({ lower: null, onSync: () => new Promise<void>((res) => (saved = res)) });
  const server = new P9Server();
  server.addExport('c', fs);
  const c = new TestClient(server);
  c.version();
  c.call({ type: 'Tattach', fid: 0, afid: NOFID, uname: 'root', aname: 'c', nUname: 0 });
  c.walk(0, 1, '');
  c.call({ type: 'Tlcreate', fid: 1, name: 'f', flags: OpenFlags.WRONLY, mode: 0o644, gid: 0 });

  const replies: string[] = [];
  const handle = toHandle9p(server);
  const send = (m: TMessage) => handle(encode(m), (r) => replies.push(`${(decode(r) as RMessage).type} ${(decode(r) as RMessage).tag}`));
  send({ type: 'Tfsync', tag: 10, fid: 1, datasync: 0 });
  send({ type: 'Tflush', tag: 11, oldtag: 10 });
  // An unrelated request is not held up by either.
  send({ type: 'Tgetattr', tag: 12, fid: 1, requestMask: 0x7ff });
  await new Promise((res) => setTimeout(res, 20));
  expect(replies).toEqual(['Rgetattr 12']);
  saved();
  await new Promise((res) => setTimeout(res, 20));
  expect(replies).toEqual(['Rgetattr 12', 'Rfsync 10', 'Rflush 11']);
  // Once answered, a flush of that tag is answered at once.
  send({ type: 'Tflush', tag: 13, oldtag: 10 });
  expect(replies.at(-1)).toBe('Rflush 13');
});
