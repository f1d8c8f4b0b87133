/** A hijacked (or plain streamed) connection carrying container output, framed or raw. */
import type { Duplex } from 'node:stream';
import type { StreamWriter } from './call.ts';
import { frame } from './stream.ts';

export interface OutputConnection {
  write(kind: 'stdout' | 'stderr', data: Uint8Array): Promise<void>;
  end(): void;
  /** The client's stdin when the connection was hijacked; undefined for a plain streamed body. */
  stdin?: Duplex;
}

export function outputConnection(conn: Duplex | StreamWriter, tty: boolean): OutputConnection {
  const encode = (kind: 'stdout' | 'stderr', d: Uint8Array): Uint8Array => (tty ? d : frame(kind, d));
  if ('end' in conn && 'pipe' in conn) {
    const sock = conn as Duplex;
    return {
      stdin: sock,
      write: (kind, d) => new Promise((resolve) => {
        if (sock.destroyed || sock.writableEnded) return resolve();
        if (sock.write(encode(kind, d))) resolve();
        else {
          const done = () => { sock.off('drain', done); sock.off('close', done); resolve(); };
          sock.on('drain', done);
          sock.on('close', done);
        }
      }),
      end: () => { if (!sock.writableEnded) sock.end(); },
    };
  }
  const w = conn as StreamWriter;
  return { write: (kind, d) => w.write(encode(kind, d)), end: () => w.end() };
}
