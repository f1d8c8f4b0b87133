/**
 * Inside the emulator worker: the guest's virtio-net NIC to and from the Machine. v86 with
 * `net_device: { type: 'virtio' }` and no relay URL builds the NIC but no network adapter; its bus
 * carries `net0-send` (a frame the guest sent) and `net0-receive` (a frame for the guest). Frames
 * out are batched per emulator slice; frames in go only while the guest has posted receive
 * buffers, because v86 drops a frame that finds none. The rest wait here (a bounded backlog; TCP
 * retransmits whatever a full backlog drops) and are retried on the next timer turn.
 *
 * The NIC also offers the guest checksum and TCP segmentation offload both ways (net/offload.ts):
 * a guest sending 32 MB then does 17x fewer instructions (one 64 KiB frame instead of 45, no
 * checksums), one receiving 32 MB 4x fewer (32 KiB frames, checksums not verified). Frames in are
 * written into the receive queue here, behind the virtio_net header that says so (v86's own
 * receive path writes an empty one), and the guest is interrupted once per batch, not per frame.
 */
import type { V86 } from 'v86';
import { LINK_MTU } from '../../net/frames.ts';
import { splitFrame, withRxHeader } from '../../net/offload.ts';
import type { WorkerToHost } from './worker-protocol.ts';

/** VIRTIO_NET_F_CSUM (bit 0) and VIRTIO_NET_F_HOST_TSO4 (bit 11): what the host side takes from the guest. */
const TX_OFFLOADS = (1 << 0) | (1 << 11);
/** VIRTIO_NET_F_GUEST_CSUM (bit 1) and GUEST_TSO4 (bit 7): what the guest takes from the host side. */
const GUEST_CSUM = 1 << 1;
const GUEST_TSO4 = 1 << 7;

/** Frames waiting for guest receive buffers; beyond this, new ones are dropped (TCP resends). */
const MAX_BACKLOG = 4096;

export interface NetPump {
  /** Frames from the host peer for the guest. */
  deliver(frames: Uint8Array[]): void;
  stop(): void;
}

interface Bus { send(event: string, data: unknown): void }
interface Chain { set_next_blob(b: Uint8Array): number }
interface RxQueue { count_requests(): number; pop_request(): Chain; push_reply(c: Chain): void; flush_replies(): void }
interface Nic { queues?: RxQueue[]; driver_feature?: Uint32Array }

export function startNetPump(emu: V86, post: (m: WorkerToHost, transfer?: Transferable[]) => void): NetPump {
  const bus = (emu as unknown as { bus: Bus }).bus;
  offerOffloads(emu);
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
  const nic = (): Nic | null => (emu as unknown as { v86?: { cpu?: { devices?: { virtio_net?: { virtio?: Nic } } } } }).v86?.cpu?.devices?.virtio_net?.virtio ?? null;
  const drain = () => {
    timer = null;
    const v = nic();
    const q = v?.queues?.[0];
    if (!q || typeof q.pop_request !== 'function' || !(v?.driver_feature instanceof Uint32Array)) {
      // Another v86 layout: frames go through v86's own receive path, as its adapters do.
      while (backlog.length) bus.send('net0-receive', backlog.shift());
      return;
    }
    // What the guest's driver negotiated: a state saved before these offloads has neither.
    const csum = (v.driver_feature[0]! & GUEST_CSUM) !== 0;
    const gso = (v.driver_feature[0]! & GUEST_TSO4) !== 0;
    let free = q.count_requests();
    let written = 0;
    while (backlog.length && free > 0) {
      const f = backlog.shift()!;
      if (!gso && f.length > 14 + LINK_MTU) { backlog.unshift(...splitFrame(f)); continue; }
      const chain = q.pop_request();
      chain.set_next_blob(withRxHeader(f, { csum, gso }));
      q.push_reply(chain);
      free--;
      written++;
    }
    if (written) q.flush_replies();
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

type VirtioFeatures = { device_feature?: Uint32Array; driver_feature?: Uint32Array };

/**
 * Adds the offloads to what v86's virtio-net announces (its feature list is fixed in its
 * constructor; the guest reads it when its driver probes, after this). A restored state brings
 * the features its guest negotiated at boot, so an older snapshot keeps working without them.
 * Another v86 layout: nothing is patched and the guest computes its own checksums, as before.
 */
function offerOffloads(emu: V86): void {
  const dev = (emu as unknown as { v86?: { cpu?: { devices?: { virtio_net?: { virtio?: VirtioFeatures } } } } }).v86?.cpu?.devices?.virtio_net?.virtio;
  if (!(dev?.device_feature instanceof Uint32Array) || !(dev.driver_feature instanceof Uint32Array)) return;
  dev.device_feature[0] |= TX_OFFLOADS | GUEST_CSUM | GUEST_TSO4;
  dev.driver_feature[0] |= TX_OFFLOADS | GUEST_CSUM | GUEST_TSO4;
}
