/**
 * Inside the emulator worker: owns the V86 instance. Console bytes, kernel serial lines and 9P
 * messages are relayed to the Machine on the main thread; states are (de)compressed here so the
 * main thread never does the heavy lifting. gzip is archive/'s, as for layers: Node's zlib where
 * the entry point installed it (src/node-natives.ts), the web-standard streams elsewhere.
 */
import { V86 } from 'v86';
import { gunzip, gzip } from '../../archive/compression.ts';
import { LINK_MTU } from '../../net/frames.ts';
import { startNetPump, type NetPump } from './net-pump.ts';
import { restoreFresh } from './restore-memory.ts';
import type { BootMessage, HostToWorker, StateEncoding, WorkerEndpoint } from './worker-protocol.ts';

export function serveVmWorker(ep: WorkerEndpoint): void {
  let emulator: V86 | null = null;
  let net: NetPump | null = null;
  const p9Replies = new Map<number, (reply: Uint8Array) => void>();
  let next9p = 1;
  let serial = '';

  const fail = (err: unknown) => ep.post({ t: 'error', message: err instanceof Error ? err.message : String(err) });

  async function boot(m: BootMessage): Promise<void> {
    const t0 = performance.now();
    // A restore builds the emulator (wasm instance, devices) and then loads the state into it;
    // where inflating is asynchronous (browsers) the two overlap.
    const restoring = m.state !== undefined;
    let inflateMs = 0;
    const state = m.state === undefined ? null
      : (m.stateEncoding === 'gzip' ? gunzip(new Uint8Array(m.state), { what: 'VM state' }).then(own) : Promise.resolve(m.state)).then((s) => {
        inflateMs = performance.now() - t0;
        return s;
      });
    state?.catch(() => {});
    // Same devices on a cold boot and a restore: a state only loads into an identical machine.
    const module = m.wasmModule;
    const emu = new V86({
      wasm_path: m.wasmPath,
      ...(module ? { wasm_fn: async (imports: WebAssembly.Imports) => (await WebAssembly.instantiate(module, imports)).exports } : {}),
      memory_size: m.memoryBytes,
      vga_memory_size: 2 << 20,
      bios: { buffer: m.bios },
      ...(restoring ? {} : { bzimage: { buffer: m.bzimage! }, initrd: { buffer: m.initrd! }, cmdline: m.cmdline }),
      virtio_console: true,
      // The guest's uplink to the host-side peer (src/net); no relay_url: v86 adds no adapter of its own.
      net_device: { type: 'virtio', mtu: LINK_MTU },
      filesystem: {
        handle9p: (req: Uint8Array, reply: (r: Uint8Array) => void) => {
          const direct = ep.direct9p?.();
          if (direct) {
            // v86 hands the reply to the guest at once when it comes back within this call.
            const r = direct(req);
            if (r instanceof Uint8Array) reply(r);
            else void r.then(reply);
            return;
          }
          const id = next9p++;
          p9Replies.set(id, reply);
          ep.post({ t: 'p9', id, data: req.slice() });
        },
      },
      autostart: !restoring,
      disable_keyboard: true,
      disable_mouse: true,
      disable_speaker: true,
    } as unknown as ConstructorParameters<typeof V86>[0]);
    emulator = emu;
    // One message per emulator slice, not per virtqueue buffer (the tty layer writes 2 KiB pieces).
    let out: Uint8Array[] = [];
    let outBytes = 0;
    const flush = () => {
      const data = new Uint8Array(outBytes);
      let off = 0;
      for (const c of out) { data.set(c, off); off += c.length; }
      out = [];
      outBytes = 0;
      ep.post({ t: 'console', data }, [data.buffer]);
    };
    emu.add_listener(`virtio-console${AGENT_PORT}-output-bytes` as 'virtio-console0-output-bytes', (bytes: Uint8Array) => {
      if (outBytes === 0) queueMicrotask(flush);
      out.push(bytes.slice());
      outBytes += bytes.length;
    });
    emu.add_listener('serial0-output-byte', (byte: number) => {
      if (byte === 10) {
        ep.post({ t: 'serial', line: serial });
        serial = '';
      } else if (byte !== 13 && serial.length < 4096) serial += String.fromCharCode(byte);
    });
    emu.add_listener('emulator-ready', () => {
      plainAgentPort(emu);
      net = startNetPump(emu, (msg, transfer) => ep.post(msg, transfer));
      ep.onEmulator?.(emu);
    });
    // 'emulator-loaded' is the end of v86's construction (after 'emulator-ready'). Console input
    // must wait for it, and on a restore for the state too, or it lands in a blank machine.
    emu.add_listener('emulator-loaded' as 'emulator-ready', () => {
      const go = async () => {
        const loadedMs = performance.now() - t0;
        let restoreMs: number | undefined;
        if (state) {
          const s = await state;
          const t1 = performance.now();
          await restoreFresh(emu, s);
          await emu.run();
          restoreMs = performance.now() - t1;
        }
        ep.post({ t: 'started', restored: restoring, ms: performance.now() - t0, inflateMs, loadedMs, ...(restoreMs !== undefined ? { restoreMs } : {}) });
      };
      go().catch(fail);
    });
    emu.add_listener('emulator-stopped', () => ep.post({ t: 'stopped' }));
  }

  async function save(encoding: StateEncoding): Promise<void> {
    if (!emulator) throw new Error('save: the emulator is not running');
    const t0 = performance.now();
    const raw = await emulator.save_state();
    const state = encoding === 'gzip' ? own(await gzip(new Uint8Array(raw))) : raw;
    ep.post({ t: 'saved', state, rawBytes: raw.byteLength, ms: performance.now() - t0 }, [state]);
  }

  ep.onMessage((m: HostToWorker) => {
    switch (m.t) {
      case 'boot':
        boot(m).catch(fail);
        break;
      case 'console':
        (emulator as unknown as { bus?: { send(e: string, d: unknown): void } } | null)?.bus?.send(`virtio-console${AGENT_PORT}-input-bytes`, m.data);
        break;
      case 'net':
        net?.deliver(m.frames);
        break;
      case 'p9-reply': {
        const reply = p9Replies.get(m.id);
        p9Replies.delete(m.id);
        reply?.(m.data);
        break;
      }
      case 'save':
        save(m.encoding).catch(fail);
        break;
      case 'count':
        ep.post({ t: 'count', instructions: (emulator as unknown as { get_instruction_counter?: () => number } | null)?.get_instruction_counter?.() ?? 0 });
        break;
      case 'stop':
        net?.stop();
        net = null;
        Promise.resolve(emulator?.destroy()).then(() => ep.post({ t: 'stopped' }), fail);
        emulator = null;
        break;
    }
  });
}

/** The agent's virtio-console port (PROTOCOL.md). */
const AGENT_PORT = 1;

/**
 * v86 announces every virtio-console port as a console, which makes Linux drive it through hvc:
 * input is then pulled 16 bytes at a time, ~10x slower in the emulator than a plain port's whole
 * buffers. Dropping the CONSOLE_PORT event (4) for the agent's port leaves it a plain port
 * (/dev/vportNp1). If this v86 lays its device out differently nothing is patched and the agent
 * finds /dev/hvc1 instead: slower, still correct.
 */
function plainAgentPort(emu: V86): void {
  type Dev = { SendEvent?: (port: number, event: number, value: number) => void };
  const dev = (emu as unknown as { v86?: { cpu?: { devices?: { virtio_console?: Dev } } } }).v86?.cpu?.devices?.virtio_console;
  const original = dev?.SendEvent;
  if (!dev || typeof original !== 'function') return;
  dev.SendEvent = function (this: Dev, port: number, event: number, value: number) {
    if (event === 4 && port === AGENT_PORT) return;
    original.call(this, port, event, value);
  };
}

/** The bytes as an ArrayBuffer of their own (to hand to v86, or to transfer). */
function own(u: Uint8Array): ArrayBuffer {
  return u.byteOffset === 0 && u.byteLength === u.buffer.byteLength && u.buffer instanceof ArrayBuffer
    ? u.buffer
    : u.buffer.slice(u.byteOffset, u.byteOffset + u.byteLength) as ArrayBuffer;
}
