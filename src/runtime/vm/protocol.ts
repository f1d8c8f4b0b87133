/**
 * Wire format of the guest agent (vm-images/agent/PROTOCOL.md): a sans-IO codec. `encodeFrame`
 * builds one frame; `FrameDecoder` takes bytes in arbitrary chunks and yields whole frames.
 */
import { SkiffError } from '../../errors.ts';

export const PROTOCOL_VERSION = 2;
export const FRAME_HEADER = 12;
export const MAX_PAYLOAD = 1 << 20;
const MAGIC0 = 0x5c;
const MAGIC1 = 0xf1;

export const FrameType = {
  Hello: 0x01,
  Request: 0x02,
  Response: 0x03,
  Exit: 0x04,
  Stdin: 0x10,
  Stdout: 0x11,
  Stderr: 0x12,
  Ack: 0x20,
  /** h->g: room for more output of a process (u32 stdout, u32 stderr; deltas). */
  Credit: 0x21,
  /** g->h: stdin bytes of a process the agent wrote or dropped (u32 delta). */
  StdinCredit: 0x22,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

export interface Frame {
  type: FrameType;
  channel: number;
  payload: Uint8Array;
}

export interface HelloInfo {
  proto: number;
  agent: string;
  ready: boolean;
  boot_ms: number;
  /** Agent 0.3.1 on: the cgroup whose BPF program enforces Docker's default device rules (device-cgroup.ts). */
  devices_cgroup?: string;
}

/**
 * A failed RESPONSE: the Linux errno and a message; for a `create`/`run`/`exec` whose process
 * could not be started, agents from 0.2.0 on add `reason` (older ones leave it out; the host
 * treats a missing or unknown reason as a generic failure, so the field needs no new proto).
 */
export interface ErrorResponse {
  ok: false;
  errno: number;
  error: string;
  reason?: 'not-found' | 'not-executable';
}

/** What an EXIT frame reports: exitCode is 128+signal when a signal killed the process. */
export interface ExitStatus {
  exitCode: number;
  signal?: number;
  oomKilled: boolean;
}

export function encodeFrame(type: FrameType, channel: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  if (payload.length > MAX_PAYLOAD) {
    throw new SkiffError('INVALID_ARGUMENT', `agent frame payload of ${payload.length} bytes exceeds ${MAX_PAYLOAD}`);
  }
  const out = new Uint8Array(FRAME_HEADER + payload.length);
  const dv = new DataView(out.buffer);
  out[0] = MAGIC0;
  out[1] = MAGIC1;
  out[2] = type;
  dv.setUint32(4, channel >>> 0, true);
  dv.setUint32(8, payload.length, true);
  out.set(payload, FRAME_HEADER);
  return out;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export function encodeJson(type: FrameType, channel: number, value: unknown): Uint8Array {
  return encodeFrame(type, channel, enc.encode(JSON.stringify(value)));
}

export function decodeJson<T>(frame: Frame): T {
  const text = dec.decode(frame.payload);
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new SkiffError('VM', `agent sent malformed JSON in a frame of type 0x${frame.type.toString(16)}: ${text.slice(0, 80)}`);
  }
}

/**
 * Reassembles frames from a byte stream; resynchronises on the magic after garbage. Chunks are
 * kept as they came and copied once per frame, so a big frame arriving in 2 KiB pieces stays O(n).
 */
export class FrameDecoder {
  private chunks: Uint8Array[] = [];
  private size = 0;
  /** Bytes skipped while looking for a frame start (only the serial fallback should see any). */
  skipped = 0;

  push(chunk: Uint8Array): Frame[] {
    if (chunk.length) {
      this.chunks.push(chunk);
      this.size += chunk.length;
    }
    const frames: Frame[] = [];
    while (this.size >= FRAME_HEADER) {
      const h = this.peek(FRAME_HEADER);
      const dv = new DataView(h.buffer, h.byteOffset, FRAME_HEADER);
      const len = dv.getUint32(8, true);
      if (h[0] !== MAGIC0 || h[1] !== MAGIC1 || len > MAX_PAYLOAD) {
        this.consume(1);
        this.skipped++;
        continue;
      }
      if (this.size < FRAME_HEADER + len) break;
      const whole = this.consume(FRAME_HEADER + len);
      frames.push({ type: h[2] as FrameType, channel: dv.getUint32(4, true), payload: whole.subarray(FRAME_HEADER) });
    }
    return frames;
  }

  private peek(n: number): Uint8Array {
    const first = this.chunks[0]!;
    if (first.length >= n) return first.subarray(0, n);
    const out = new Uint8Array(n);
    let off = 0;
    for (const c of this.chunks) {
      const k = Math.min(c.length, n - off);
      out.set(c.subarray(0, k), off);
      off += k;
      if (off === n) break;
    }
    return out;
  }

  private consume(n: number): Uint8Array {
    const first = this.chunks[0]!;
    this.size -= n;
    if (first.length > n) {
      this.chunks[0] = first.subarray(n);
      return first.slice(0, n);
    }
    if (first.length === n) {
      this.chunks.shift();
      return first;
    }
    const out = new Uint8Array(n);
    let off = 0;
    while (off < n) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, n - off);
      out.set(c.subarray(0, k), off);
      off += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    return out;
  }
}

export function frameName(type: number): string {
  for (const [k, v] of Object.entries(FrameType)) if (v === type) return k;
  return `0x${type.toString(16)}`;
}
