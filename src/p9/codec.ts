/**
 * Sans-IO 9P2000.L codec: `decode(bytes)` turns one whole message into a typed value,
 * `encode(message)` turns a value into bytes. Layouts are one table (SCHEMA) read by both
 * directions, so a field cannot be encoded in one order and decoded in another.
 *
 * Decoding is strict: the size field must equal the buffer length, every field must fit, and
 * nothing may be left over. Any violation is a `P9DecodeError` (with the tag when the header
 * was readable), never an out-of-bounds read.
 */
import { SkiffError } from '../errors.ts';
import { Errno } from '../fs/errno.ts';
import {
  HEADER_SIZE, MessageCode,
  type Dirent, type Message, type MessageName, type Qid,
} from './messages.ts';
import { checkInt, encodeString, P9DecodeError, QID_SIZE, Reader, Writer } from './wire.ts';

export { P9DecodeError } from './wire.ts';

type Kind = 'u8' | 'u16' | 'u32' | 'u64' | 'str' | 'qid' | 'data' | 'wnames' | 'wqids';
type Field = readonly [key: string, kind: Kind];
type Codable = Exclude<MessageName, 'Tlerror'>;

const u8 = (k: string): Field => [k, 'u8'];
const u16 = (k: string): Field => [k, 'u16'];
const u32 = (k: string): Field => [k, 'u32'];
const u64 = (k: string): Field => [k, 'u64'];
const str = (k: string): Field => [k, 'str'];
const qid = (k: string): Field => [k, 'qid'];

/** Field layouts after size[4] type[1] tag[2], in wire order. */
const SCHEMA: Record<Codable, readonly Field[]> = {
  Rlerror: [u32('ecode')],
  Tstatfs: [u32('fid')],
  Rstatfs: [u32('fsType'), u32('bsize'), u64('blocks'), u64('bfree'), u64('bavail'), u64('files'), u64('ffree'), u64('fsid'), u32('namelen')],
  Tlopen: [u32('fid'), u32('flags')],
  Rlopen: [qid('qid'), u32('iounit')],
  Tlcreate: [u32('fid'), str('name'), u32('flags'), u32('mode'), u32('gid')],
  Rlcreate: [qid('qid'), u32('iounit')],
  Tsymlink: [u32('fid'), str('name'), str('symtgt'), u32('gid')],
  Rsymlink: [qid('qid')],
  Tmknod: [u32('dfid'), str('name'), u32('mode'), u32('major'), u32('minor'), u32('gid')],
  Rmknod: [qid('qid')],
  Trename: [u32('fid'), u32('dfid'), str('name')],
  Rrename: [],
  Treadlink: [u32('fid')],
  Rreadlink: [str('target')],
  Tgetattr: [u32('fid'), u64('requestMask')],
  Rgetattr: [
    u64('valid'), qid('qid'), u32('mode'), u32('uid'), u32('gid'), u64('nlink'), u64('rdev'),
    u64('size'), u64('blksize'), u64('blocks'),
    u64('atimeSec'), u64('atimeNsec'), u64('mtimeSec'), u64('mtimeNsec'),
    u64('ctimeSec'), u64('ctimeNsec'), u64('btimeSec'), u64('btimeNsec'),
    u64('gen'), u64('dataVersion'),
  ],
  Tsetattr: [
    u32('fid'), u32('valid'), u32('mode'), u32('uid'), u32('gid'), u64('size'),
    u64('atimeSec'), u64('atimeNsec'), u64('mtimeSec'), u64('mtimeNsec'),
  ],
  Rsetattr: [],
  Txattrwalk: [u32('fid'), u32('newfid'), str('name')],
  Rxattrwalk: [u64('size')],
  Txattrcreate: [u32('fid'), str('name'), u64('attrSize'), u32('flags')],
  Rxattrcreate: [],
  Treaddir: [u32('fid'), u64('offset'), u32('count')],
  Rreaddir: [['data', 'data']],
  Tfsync: [u32('fid'), u32('datasync')],
  Rfsync: [],
  Tlock: [u32('fid'), u8('lockType'), u32('flags'), u64('start'), u64('length'), u32('procId'), str('clientId')],
  Rlock: [u8('status')],
  Tgetlock: [u32('fid'), u8('lockType'), u64('start'), u64('length'), u32('procId'), str('clientId')],
  Rgetlock: [u8('lockType'), u64('start'), u64('length'), u32('procId'), str('clientId')],
  Tlink: [u32('dfid'), u32('fid'), str('name')],
  Rlink: [],
  Tmkdir: [u32('dfid'), str('name'), u32('mode'), u32('gid')],
  Rmkdir: [qid('qid')],
  Trenameat: [u32('olddirfid'), str('oldname'), u32('newdirfid'), str('newname')],
  Rrenameat: [],
  Tunlinkat: [u32('dirfid'), str('name'), u32('flags')],
  Runlinkat: [],
  Tversion: [u32('msize'), str('version')],
  Rversion: [u32('msize'), str('version')],
  Tauth: [u32('afid'), str('uname'), str('aname'), u32('nUname')],
  Rauth: [qid('aqid')],
  Tattach: [u32('fid'), u32('afid'), str('uname'), str('aname'), u32('nUname')],
  Rattach: [qid('qid')],
  Tflush: [u16('oldtag')],
  Rflush: [],
  Twalk: [u32('fid'), u32('newfid'), ['wnames', 'wnames']],
  Rwalk: [['wqids', 'wqids']],
  Tread: [u32('fid'), u64('offset'), u32('count')],
  Rread: [['data', 'data']],
  Twrite: [u32('fid'), u64('offset'), ['data', 'data']],
  Rwrite: [u32('count')],
  Tclunk: [u32('fid')],
  Rclunk: [],
  Tremove: [u32('fid')],
  Rremove: [],
};

/** SCHEMA with each field's label ("Twalk.wnames") built once, not per message. */
type Compiled = readonly (readonly [key: string, kind: Kind, label: string])[];
const COMPILED = {} as Record<Codable, Compiled>;
const NAME_BY_CODE = new Map<number, Codable>();
for (const name of Object.keys(SCHEMA) as Codable[]) {
  NAME_BY_CODE.set(MessageCode[name], name);
  COMPILED[name] = SCHEMA[name].map(([key, kind]) => [key, kind, `${name}.${key}`] as const);
}

/** The message name for a type code, or undefined for codes this codec does not speak. */
export function messageName(code: number): MessageName | undefined {
  return NAME_BY_CODE.get(code);
}

/** Reads size[4] type[1] tag[2] without decoding the body; undefined if fewer than 7 bytes. */
export function peekHeader(bytes: Uint8Array): { size: number; code: number; tag: number } | undefined {
  if (bytes.length < HEADER_SIZE) return undefined;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { size: v.getUint32(0, true), code: v.getUint8(4), tag: v.getUint16(5, true) };
}

/** Decodes exactly one message; `bytes.length` must equal its size field. */
export function decode(bytes: Uint8Array): Message {
  const header = peekHeader(bytes);
  if (!header) throw new P9DecodeError(`message of ${bytes.length} bytes is shorter than the 7-byte header`);
  if (header.size !== bytes.length) {
    throw new P9DecodeError(`size field says ${header.size} bytes but the message has ${bytes.length}`);
  }
  const name = NAME_BY_CODE.get(header.code);
  if (!name) {
    const err = new P9DecodeError(`unknown message type ${header.code}`, Errno.EOPNOTSUPP);
    throw withTag(err, header.tag);
  }
  const r = new Reader(bytes, HEADER_SIZE);
  const msg: Record<string, unknown> = { type: name, tag: header.tag };
  try {
    for (const [key, kind, label] of COMPILED[name]) msg[key] = readField(r, kind, label);
  } catch (err) {
    throw withTag(err, header.tag);
  }
  if (r.remaining !== 0) {
    throw withTag(new P9DecodeError(`${name} has ${r.remaining} trailing bytes`), header.tag);
  }
  return msg as unknown as Message;
}

function withTag(err: unknown, tag: number): unknown {
  if (err instanceof P9DecodeError) (err as P9DecodeError & { tag?: number }).tag = tag;
  return err;
}

/** The tag of a message whose body failed to decode, if its header was readable. */
export function decodeErrorTag(err: unknown): number | undefined {
  return err instanceof P9DecodeError ? (err as P9DecodeError & { tag?: number }).tag : undefined;
}

function readField(r: Reader, kind: Kind, field: string): unknown {
  switch (kind) {
    case 'u8': return r.u8(field);
    case 'u16': return r.u16(field);
    case 'u32': return r.u32(field);
    case 'u64': return r.u64(field);
    case 'str': return r.str(field);
    case 'qid': return r.qid(field);
    case 'data': return r.bytesView(r.u32(`${field} count`), field);
    case 'wnames': {
      const n = r.u16(`${field} count`);
      // Each name needs at least its 2-byte length: refuse absurd counts before looping.
      if (n * 2 > r.remaining) throw new P9DecodeError(`${field} count ${n} exceeds the message`);
      const names: string[] = [];
      for (let i = 0; i < n; i++) names.push(r.str(`${field}[${i}]`));
      return names;
    }
    case 'wqids': {
      const n = r.u16(`${field} count`);
      if (n * QID_SIZE > r.remaining) throw new P9DecodeError(`${field} count ${n} exceeds the message`);
      const qids: Qid[] = [];
      for (let i = 0; i < n; i++) qids.push(r.qid(`${field}[${i}]`));
      return qids;
    }
  }
}

/** Encodes one message. Values that do not fit their field are a SkiffError naming the field. */
export function encode(msg: Message): Uint8Array {
  const name = msg.type as Codable;
  const fields = COMPILED[name];
  if (!fields) throw new SkiffError('INVALID_ARGUMENT', `9P encode: unknown message type ${String(msg.type)}`);
  const values = msg as unknown as Record<string, unknown>;
  checkInt(msg.tag, 'u16', `${name}.tag`);
  // First pass: sizes (and string bytes, kept for the second pass).
  const strings: Uint8Array[] = [];
  let size = HEADER_SIZE;
  for (const [key, kind, field] of fields) {
    const v = values[key];
    switch (kind) {
      case 'u8': checkInt(v, 'u8', field); size += 1; break;
      case 'u16': checkInt(v, 'u16', field); size += 2; break;
      case 'u32': checkInt(v, 'u32', field); size += 4; break;
      case 'u64': checkInt(v, 'u64', field); size += 8; break;
      case 'qid': checkQid(v, field); size += QID_SIZE; break;
      case 'str': {
        if (typeof v !== 'string') throw new SkiffError('INVALID_ARGUMENT', `9P encode: ${field} is not a string`);
        const b = encodeString(v, field);
        strings.push(b);
        size += 2 + b.length;
        break;
      }
      case 'data': {
        if (!(v instanceof Uint8Array)) throw new SkiffError('INVALID_ARGUMENT', `9P encode: ${field} is not bytes`);
        size += 4 + v.length;
        break;
      }
      case 'wnames': {
        const names = v as string[];
        if (!Array.isArray(names)) throw new SkiffError('INVALID_ARGUMENT', `9P encode: ${field} is not a list`);
        checkInt(names.length, 'u16', `${field}.length`);
        size += 2;
        for (const s of names) {
          const b = encodeString(s, field);
          strings.push(b);
          size += 2 + b.length;
        }
        break;
      }
      case 'wqids': {
        const qids = v as Qid[];
        if (!Array.isArray(qids)) throw new SkiffError('INVALID_ARGUMENT', `9P encode: ${field} is not a list`);
        checkInt(qids.length, 'u16', `${field}.length`);
        qids.forEach((q, i) => checkQid(q, `${field}[${i}]`));
        size += 2 + qids.length * QID_SIZE;
        break;
      }
    }
  }
  checkInt(size, 'u32', `${name} size`);
  const w = new Writer(new Uint8Array(size));
  w.u32(size);
  w.u8(MessageCode[name]);
  w.u16(msg.tag);
  let s = 0;
  for (const [key, kind] of fields) {
    const v = values[key];
    switch (kind) {
      case 'u8': w.u8(v as number); break;
      case 'u16': w.u16(v as number); break;
      case 'u32': w.u32(v as number); break;
      case 'u64': w.u64(v as number); break;
      case 'qid': w.qid(v as Qid); break;
      case 'str': { const b = strings[s++]!; w.u16(b.length); w.raw(b); break; }
      case 'data': { const b = v as Uint8Array; w.u32(b.length); w.raw(b); break; }
      case 'wnames': {
        w.u16((v as string[]).length);
        for (let i = 0; i < (v as string[]).length; i++) { const b = strings[s++]!; w.u16(b.length); w.raw(b); }
        break;
      }
      case 'wqids': { w.u16((v as Qid[]).length); for (const q of v as Qid[]) w.qid(q); break; }
    }
  }
  return w.bytes;
}

function checkQid(v: unknown, field: string): void {
  if (typeof v !== 'object' || v === null) throw new SkiffError('INVALID_ARGUMENT', `9P encode: ${field} is not a qid`);
  const q = v as Qid;
  checkInt(q.type, 'u8', `${field}.type`);
  checkInt(q.version, 'u32', `${field}.version`);
  checkInt(q.path, 'u64', `${field}.path`);
}

/** Bytes one dirent takes in Rreaddir data: qid[13] offset[8] type[1] name[s]. */
export function direntSize(nameBytes: number): number {
  return QID_SIZE + 8 + 1 + 2 + nameBytes;
}

/** Packs dirents for Rreaddir.data. */
export function encodeDirents(entries: readonly Dirent[]): Uint8Array {
  const names = entries.map((e, i) => encodeString(e.name, `dirent[${i}].name`));
  const total = names.reduce((n, b) => n + direntSize(b.length), 0);
  const w = new Writer(new Uint8Array(total));
  entries.forEach((e, i) => {
    w.qid(e.qid);
    w.u64(checkInt(e.offset, 'u64', `dirent[${i}].offset`));
    w.u8(checkInt(e.type, 'u8', `dirent[${i}].type`));
    w.u16(names[i]!.length);
    w.raw(names[i]!);
  });
  return w.bytes;
}

/** Unpacks Rreaddir.data (strictly: a partial record is an error). */
export function decodeDirents(data: Uint8Array): Dirent[] {
  const r = new Reader(data);
  const out: Dirent[] = [];
  while (r.remaining > 0) {
    const i = out.length;
    const q = r.qid(`dirent[${i}].qid`);
    const offset = r.u64(`dirent[${i}].offset`);
    const type = r.u8(`dirent[${i}].type`);
    const name = r.str(`dirent[${i}].name`);
    out.push({ qid: q, offset, type, name });
  }
  return out;
}
