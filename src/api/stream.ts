/**
 * Docker's multiplexed stream: without a TTY, every chunk of container output goes out behind an
 * 8-byte header (stream type 1 stdout / 2 stderr, three zero bytes, the big-endian length), so
 * stdout and stderr can share one connection. With a TTY the bytes go out raw.
 */
export const RAW_STREAM = 'application/vnd.docker.raw-stream';
export const MULTIPLEXED_STREAM = 'application/vnd.docker.multiplexed-stream';

export type StreamKind = 'stdin' | 'stdout' | 'stderr';
const KIND: Record<StreamKind, number> = { stdin: 0, stdout: 1, stderr: 2 };

export function frame(kind: StreamKind, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + data.byteLength);
  out[0] = KIND[kind];
  new DataView(out.buffer).setUint32(4, data.byteLength);
  out.set(data, 8);
  return out;
}

/** Reads frames back (tests, and clients of our own): bytes in, whole frames out, rest kept. */
export class FrameReader {
  #buf = new Uint8Array(0);
  push(chunk: Uint8Array): Array<{ kind: StreamKind; data: Uint8Array }> {
    const b = new Uint8Array(this.#buf.byteLength + chunk.byteLength);
    b.set(this.#buf);
    b.set(chunk, this.#buf.byteLength);
    const out: Array<{ kind: StreamKind; data: Uint8Array }> = [];
    let o = 0;
    while (b.byteLength - o >= 8) {
      const len = new DataView(b.buffer, b.byteOffset + o).getUint32(4);
      if (b.byteLength - o - 8 < len) break;
      const kind = (['stdin', 'stdout', 'stderr'] as const)[b[o]!];
      if (!kind) throw new Error(`bad stream frame type ${b[o]}`);
      out.push({ kind, data: b.slice(o + 8, o + 8 + len) });
      o += 8 + len;
    }
    this.#buf = b.slice(o);
    return out;
  }
}
