/**
 * Waiting for a control socket to write out what it buffered: the client's stdin writer and the
 * server's exec output both pause on it (ProcessIO / writeStdin backpressure).
 */
import type { Socket } from 'node:net';

/** One waiter per socket: many writes past the mark share it instead of adding listeners each. */
const drains = new WeakMap<Socket, Promise<void>>();

/** Resolves once `sock` has drained its write buffer, or closed. */
export function drainOf(sock: Socket): Promise<void> {
  let p = drains.get(sock);
  if (!p) {
    p = new Promise((resolve) => {
      const done = () => { sock.off('drain', done); sock.off('close', done); drains.delete(sock); resolve(); };
      sock.on('drain', done);
      sock.on('close', done);
    });
    drains.set(sock, p);
  }
  return p;
}
