/**
 * Inside the emulator worker: the guest's virtio-net NIC to and from the Machine. v86 with
 * `net_device: { type: 'virtio' }` and no relay URL builds the NIC but no network adapter; its bus
 * carries `net0-send` (a frame the guest sent) and `net0-receive` (a frame for the guest). Frames
 * out are batched per emulator slice; frames in go only while the guest has posted receive
 * buffers, because v86 drops a frame that finds none. The rest wait here (a bounded backlog; TCP
 * retransmits whatever a full backlog drops) and are retried on the next timer turn.
 */
import type { V86 } from 'v86';
import type { WorkerToHost } from './worker-protocol.ts';

/** Frames waiting for guest receive buffers; beyond this, new ones are dropped (TCP resends). */
const MAX_BACKLOG = 4096;

export interface NetPump {
  /** Frames from the host peer for the guest. */
  deliver(frames: Uint8Array[]): void;
  stop(): void;
}

interface Bus { send(event: string, data: unknown): void }
interface RxQueue { count_requests(): number }

export function startNetPump(emu: V86, post: (m: WorkerToHost, transfer?: Transferable[]) => void): NetPump {
  const bus = (emu as unknown as { bus: Bus }).bus;
  let out: Uint8Array[] = [];
  const flush = () => {
    const frames = out;
    out = [];
    post({ t: 'net', frames }, frames.map((f) => f.buffer as ArrayBuffer));
  };
  emu.add_listener('net0-send', (frame: Uint8Array) => {
    if (!out.length) queueMicrotask(flush);
    out.push(frame.slice());
  });

  const backlog: Uint8Array[] = [];
  let timer: ReturnType<typeof setTimeout> | null = null;
  const rxQueue = (): RxQueue | null =>
    (emu as unknown as { v86?: { cpu?: { devices?: { virtio_net?: { virtio?: { queues?: RxQueue[] } } } } } }).v86?.cpu?.devices?.virtio_net?.virtio?.queues?.[0] ?? null;
  const drain = () => {
    timer = null;
    const q = rxQueue();
    // Without a reachable queue (another v86 layout) frames go straight in, as v86's own adapters do.
    let free = q ? q.count_requests() : Infinity;
    while (backlog.length && free-- > 0) bus.send('net0-receive', backlog.shift());
    if (backlog.length) timer = setTimeout(drain, 1);
  };
  return {
    deliver(frames) {
      for (const f of frames) if (backlog.length < MAX_BACKLOG) backlog.push(f);
      if (!timer) drain();
    },
    stop() {
      if (timer) clearTimeout(timer);
      backlog.length = 0;
    },
  };
}
