/**
 * The adapter v86 wants: `new V86({ filesystem: { handle9p: toHandle9p(server) } })`. v86 hands
 * over one whole 9P request and matches the reply by its tag, so replies may come in any order.
 */
import type { P9Server } from './server.ts';

export type Handle9p = (request: Uint8Array, reply: (response: Uint8Array) => void) => void;

export function toHandle9p(server: Pick<P9Server, 'handle'>): Handle9p {
  return (request, reply) => {
    // v86 may reuse the request buffer after we return: handle() decodes before returning.
    reply(server.handle(request));
  };
}
