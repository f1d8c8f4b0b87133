/**
 * The adapter v86 wants: `new V86({ filesystem: { handle9p: toHandle9p(server) } })`. v86 hands
 * over one whole 9P request and matches the reply by its tag, so replies may come in any order.
 */
import type { P9Server } from './server.ts';

export type Handle9p = (request: Uint8Array, reply: (response: Uint8Array) => void) => void;

export function toHandle9p(server: Pick<P9Server, 'handleAsync'>): Handle9p {
  return (request, reply) => {
    // v86 may reuse the request buffer after we return: handleAsync() decodes before returning
    // and copies what a request that waits for the content store still needs.
    const r = server.handleAsync(request);
    if (r instanceof Uint8Array) reply(r);
    else void r.then(reply);
  };
}
