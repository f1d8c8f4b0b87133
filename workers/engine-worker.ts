/**
 * Entry of the browser's engine worker; the logic is in src/web/worker/engine-service.ts.
 * The page's early messages (web/worker/early-vm.ts) are answered here, not by comlink: a
 * bundled Linux image's VM starts restoring as soon as this script has run, while `init` opens
 * the stores, instead of after init, the image's resolve and the VM runtime's import. One file
 * (the engine's code included): each chunk it imported would be one more round trip first.
 */
import { expose } from 'comlink';
import { installErrorTransfer } from '../src/web/rpc/errors.ts';
import { isEarlyMessage, onEarlyMessage } from '../src/web/worker/early-vm.ts';
import { createEngineService } from '../src/web/worker/engine-service.ts';
import { mark } from '../src/web/worker/timeline.ts';

const scope = globalThis as unknown as DedicatedWorkerGlobalScope;
// Its script loaded and evaluated: `ms` since the page created the worker (its time origin).
mark('worker.loaded', { ms: Math.round(performance.now()) });
// comlink's listeners, each wrapped to leave the early messages out.
const wrapped = new Map<EventListenerOrEventListenerObject, (e: MessageEvent) => void>();
installErrorTransfer();
expose(createEngineService(), {
  postMessage: (m: unknown, transfer?: Transferable[]) => scope.postMessage(m, transfer ?? []),
  addEventListener: (_type: string, listener: EventListenerOrEventListenerObject) => {
    const w = (e: MessageEvent) => {
      if (isEarlyMessage(e.data)) onEarlyMessage(e.data);
      else if (typeof listener === 'function') listener(e);
      else listener.handleEvent(e);
    };
    wrapped.set(listener, w);
    scope.addEventListener('message', w);
  },
  removeEventListener: (_type: string, listener: EventListenerOrEventListenerObject) => {
    const w = wrapped.get(listener);
    if (w) scope.removeEventListener('message', w);
    wrapped.delete(listener);
  },
});
