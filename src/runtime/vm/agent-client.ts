/**
 * Host side of the guest agent protocol (vm-images/agent/PROTOCOL.md): typed calls, one per op,
 * and process handles. Transport-free: bytes come in through `receive`, go out through `write`.
 */
import { SkiffError } from '../../errors.ts';
import { isStartFailureReason, StartFailure } from '../start-failure.ts';
import { AgentProcess, type ProcessControl } from './agent-process.ts';
import { CreditWriter, OUTPUT_HELD_MAX } from './flow.ts';
import {
  decodeJson, encodeFrame, encodeJson, FrameDecoder, frameName, FrameType, PROTOCOL_VERSION,
  type ExitStatus, type Frame, type HelloInfo,
} from './protocol.ts';
import { toBase64 } from '../../util/base64.ts';

export interface AgentClientOptions {
  /** Sends bytes to the guest's console port (already chunked and paced). */
  write: (bytes: Uint8Array) => void;
  /** Default time a request may take before it fails with SkiffError VM. */
  timeoutMs?: number;
  /** Called with one line per frame in either direction. */
  trace?: (line: string) => void;
  /**
   * Called when the guest sends a frame that does not parse (a guest must never crash the host:
   * the frame is dropped, and the request or process it was for fails with the same error).
   */
  onProtocolError?: (err: SkiffError) => void;
  /** Called when a request times out (Machine: is the agent still there at all?). */
  onTimeout?: (err: AgentTimeout) => void;
  /** Milliseconds of a monotonic clock (default performance.now). */
  now?: () => number;
}

export interface PingInfo { uptime_ms: number; mem_free_kb: number; procs: number }

export interface ProcessOptions {
  tty?: boolean;
  rows?: number;
  cols?: number;
}
export interface SpawnOptions extends ProcessOptions {
  args: string[];
  env?: string[];
  cwd?: string;
}
export interface CreateOptions extends ProcessOptions {
  /** Container id, as crun knows it. */
  id: string;
  /** Bundle directory in the guest (holds rootfs/ or the config's root.path). */
  bundle: string;
  /** config.json text; written into the bundle first when given. */
  config?: string | object;
}
export interface ExecOptions extends ProcessOptions {
  id: string;
  /** OCI runtime-spec `process` object (or its JSON text). */
  process: string | object;
}

/**
 * A request the agent did not answer in time (the caller may retry; other failures are final).
 * The message says what was waited for and what the channel looked like meanwhile (agentStall).
 */
export class AgentTimeout extends SkiffError {
  constructor(message: string, readonly op = '', readonly stall?: AgentStall) {
    super('VM', message);
  }
}

/** The channel as the host saw it when a request timed out. */
export interface AgentStall {
  /** Since the agent's last frame of any kind (ACKs too); null: it never sent one. */
  silentMs: number | null;
  /** Bytes handed to the guest that the agent has not read (it is not reading its port). */
  unacknowledged: number;
  /** Bytes not even sent yet: they wait for the agent to read what was. */
  waiting: number;
  /** The other requests still unanswered, oldest first. */
  others: Array<{ op: string; id: number; ageMs: number }>;
}

type Pending = { op: string; resolve: (v: Record<string, unknown>) => void; reject: (e: unknown) => void; timer: ReturnType<typeof setTimeout>; sentAt: number };

export class AgentClient implements ProcessControl {
  private readonly decoder = new FrameDecoder();
  private readonly out: CreditWriter;
  private readonly pending = new Map<number, Pending>();
  private readonly procs = new Map<number, AgentProcess>();
  private nextReq = 1;
  private nextChannel = 1;
  private helloWaiters: ((h: HelloInfo) => void)[] = [];
  private dead: SkiffError | null = null;
  private readonly now: () => number;
  private lastFrameAt: number | null = null;
  /** The last HELLO the agent sent. */
  info: HelloInfo | null = null;
  /** Malformed frames received so far, and the last one's error. */
  protocolErrors = 0;
  lastProtocolError: SkiffError | null = null;

  constructor(private readonly opts: AgentClientOptions) {
    this.out = new CreditWriter(opts.write);
    this.now = opts.now ?? (() => performance.now());
  }

  /** Bytes from the guest's console port. */
  receive(bytes: Uint8Array): void {
    for (const f of this.decoder.push(bytes)) {
      this.lastFrameAt = this.now();
      try {
        this.dispatch(f);
      } catch (err) {
        // Nothing a guest sends may throw into the host's event loop.
        this.malformed(f, err);
      }
    }
  }

  private malformed(f: Frame, err: unknown): void {
    const why = err instanceof Error ? err.message : String(err);
    const e = new SkiffError('VM', `guest agent sent a malformed ${frameName(f.type)} frame (channel ${f.channel}, ${f.payload.length} bytes): ${why}`, { cause: err });
    this.protocolErrors++;
    this.lastProtocolError = e;
    this.opts.trace?.(`!! ${e.message}`);
    try {
      this.opts.onProtocolError?.(e);
    } catch {
      /* a reporting hook failing changes nothing */
    }
  }

  /** Resolves at the agent's next HELLO; with `ask`, sends a HELLO request first (after a restore). */
  hello(options: { ask?: boolean; timeoutMs?: number } = {}): Promise<HelloInfo> {
    const timeoutMs = options.timeoutMs ?? this.opts.timeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new SkiffError('VM', `guest agent did not say hello within ${timeoutMs} ms`)), timeoutMs);
      this.helloWaiters.push((h) => { clearTimeout(timer); resolve(h); });
      if (options.ask) this.send(encodeFrame(FrameType.Hello, 0));
    });
  }

  ping(): Promise<PingInfo> {
    return this.request('ping', {}) as unknown as Promise<PingInfo>;
  }

  async setClock(date: Date = new Date()): Promise<void> {
    await this.request('set_clock', { epoch_ms: date.getTime() });
  }

  /** Bind-mounts 9P export `export` (a top-level directory of the host server's root) on `target`. */
  async mount(o: { export: string; target: string; msize?: number; cache?: string }): Promise<void> {
    await this.request('mount', { export: o.export, target: o.target, msize: o.msize, cache: o.cache });
  }

  async umount(o: { target: string }): Promise<void> {
    await this.request('umount', { target: o.target });
  }

  async writeFile(o: { path: string; data: Uint8Array | string; mode?: number }): Promise<void> {
    const fields: Record<string, unknown> = { path: o.path, mode: o.mode };
    if (typeof o.data === 'string') fields.text = o.data;
    else fields.data = toBase64(o.data);
    await this.request('write_file', fields);
  }

  async mkdir(o: { path: string; mode?: number }): Promise<void> {
    await this.request('mkdir', { path: o.path, mode: o.mode });
  }

  /** A plain guest process (no container): for setup and diagnostics. */
  spawn(o: SpawnOptions): Promise<AgentProcess> {
    return this.startProcess('spawn', o, { args: o.args, env: o.env, cwd: o.cwd });
  }

  /** `crun create`: the container's process waits for `start`; its stdio is the returned handle. */
  create(o: CreateOptions): Promise<AgentProcess> {
    return this.startProcess('create', o, { id: o.id, bundle: o.bundle, config: jsonText(o.config) });
  }

  async start(o: { id: string }): Promise<void> {
    await this.request('start', { id: o.id });
  }

  /** create + start in one round trip. */
  run(o: CreateOptions): Promise<AgentProcess> {
    return this.startProcess('run', o, { id: o.id, bundle: o.bundle, config: jsonText(o.config) });
  }

  /** `crun exec` a further process in a running container. */
  exec(o: ExecOptions): Promise<AgentProcess> {
    return this.startProcess('exec', o, { id: o.id, process: jsonText(o.process) });
  }

  /**
   * A pooled container (PROTOCOL.md "Container pool"): `crun run` of `config`, whose process is
   * skiff-pool-init waiting to be claimed. `channel` is the caller's (pool channels are kept apart
   * from the client's own numbering, so a restored snapshot's pool never collides with them).
   */
  poolAdd(o: CreateOptions & { channel: number }): Promise<AgentProcess> {
    return this.startProcess('pool_add', o, { id: o.id, bundle: o.bundle, config: jsonText(o.config) }, o.channel);
  }

  /** Adopts a pool channel this client did not open itself (after a snapshot restore). */
  adoptChannel(channel: number, pid: number): AgentProcess {
    const proc = new AgentProcess(channel, false, this);
    proc.pid = pid;
    this.procs.set(channel, proc);
    return proc;
  }

  /**
   * Claims the pooled container on `poolChannel` for container `id` (pool.ts builds the fields):
   * its process becomes the returned handle, on a new channel.
   */
  async poolClaim(o: {
    poolChannel: number; poolId: string; id: string; config: string; hostname: string;
    cgroup: Array<[string, string]>; claim: Uint8Array; netnsFrom?: string; ifaces?: unknown[];
  }): Promise<AgentProcess> {
    const channel = this.nextChannel++;
    const proc = new AgentProcess(channel, false, this);
    this.procs.set(channel, proc);
    try {
      const r = await this.request('pool_claim', {
        pool_channel: o.poolChannel, channel, pool_id: o.poolId, id: o.id, config: o.config, hostname: o.hostname,
        cgroup: o.cgroup.flat(), claim: toBase64(o.claim),
        ...(o.netnsFrom ? { netns_from: o.netnsFrom, ifaces: o.ifaces ?? [] } : {}),
      });
      proc.pid = Number(r.pid ?? 0);
      // The pool's own handle is done: its process now speaks on `channel`.
      this.procs.delete(o.poolChannel);
      return proc;
    } catch (err) {
      this.procs.delete(channel);
      throw err;
    }
  }

  async delete(o: { id: string; force?: boolean }): Promise<void> {
    await this.request('delete', { id: o.id, force: o.force });
  }

  async shutdown(): Promise<void> {
    await this.request('shutdown', {});
  }

  /** After a snapshot restore: flow-control state is as saved (all buffers free). */
  resetTransport(): void {
    this.out.reset();
  }

  /** Fails everything outstanding; later calls fail at once. */
  close(err: SkiffError): void {
    if (this.dead) return;
    this.dead = err;
    for (const p of this.pending.values()) { clearTimeout(p.timer); p.reject(err); }
    this.pending.clear();
    for (const p of this.procs.values()) p._fail(err);
    this.procs.clear();
  }

  /** Accepts calls again after close(): for a machine that failed to restore and boots cold. */
  reopen(): void {
    this.dead = null;
    this.out.reset();
  }

  get liveProcesses(): number {
    return this.procs.size;
  }

  request(op: string, fields: Record<string, unknown>, timeoutMs = this.opts.timeoutMs ?? 60_000): Promise<Record<string, unknown>> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextReq++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        const stall = this.stall();
        const err = new AgentTimeout(`guest agent did not answer ${op} (request ${id}) within ${timeoutMs} ms: ${describeStall(stall)}`, op, stall);
        reject(err);
        try {
          this.opts.onTimeout?.(err);
        } catch {
          /* a reporting hook failing changes nothing */
        }
      }, timeoutMs);
      this.pending.set(id, { op, resolve, reject, timer, sentAt: this.now() });
      this.send(encodeJson(FrameType.Request, id, { op, ...fields }));
    });
  }

  /** The channel as it is now (see AgentStall): what a timeout reports. */
  stall(): AgentStall {
    const now = this.now();
    return {
      silentMs: this.lastFrameAt === null ? null : now - this.lastFrameAt,
      unacknowledged: this.out.unacknowledged,
      waiting: this.out.waiting,
      others: [...this.pending].map(([id, p]) => ({ op: p.op, id, ageMs: now - p.sentAt })),
    };
  }

  /** One STDIN frame; AgentProcess keeps it within the process's window (flow.ts StdinWindow). */
  stdin(channel: number, data: Uint8Array): void {
    if (this.dead) return;
    this.send(encodeFrame(FrameType.Stdin, channel, data));
  }

  /** Room for `stdout` / `stderr` more bytes of the process on `channel` (flow.ts OutputCredit). */
  credit(channel: number, stdout: number, stderr: number): void {
    if (this.dead) return;
    const p = new Uint8Array(8);
    const dv = new DataView(p.buffer);
    dv.setUint32(0, Math.min(stdout, 0xffffffff), true);
    dv.setUint32(4, Math.min(stderr, 0xffffffff), true);
    this.send(encodeFrame(FrameType.Credit, channel, p));
  }

  private async startProcess(op: string, o: ProcessOptions, fields: Record<string, unknown>, fixedChannel?: number): Promise<AgentProcess> {
    const channel = fixedChannel ?? this.nextChannel++;
    const proc = new AgentProcess(channel, Boolean(o.tty), this);
    // Registered before the request: a container's output can precede the answer to `run`.
    this.procs.set(channel, proc);
    try {
      const r = await this.request(op, { channel, tty: o.tty, rows: o.rows, cols: o.cols, ...fields });
      proc.pid = Number(r.pid ?? 0);
      return proc;
    } catch (err) {
      this.procs.delete(channel);
      throw err;
    }
  }

  private send(frame: Uint8Array): void {
    if (this.opts.trace) this.opts.trace(`-> ${describe(frame)}`);
    this.out.write(frame);
  }

  private dispatch(f: Frame): void {
    if (this.opts.trace && f.type !== FrameType.Ack && f.type !== FrameType.StdinCredit) this.opts.trace(`<- ${frameName(f.type)} ch=${f.channel} ${preview(f)}`);
    switch (f.type) {
      case FrameType.Ack:
        if (f.payload.length !== 4) throw new Error(`an ACK carries 4 bytes`);
        this.out.ack(new DataView(f.payload.buffer, f.payload.byteOffset, 4).getUint32(0, true));
        break;
      case FrameType.StdinCredit: {
        if (f.payload.length !== 4) throw new Error(`a STDIN_CREDIT carries 4 bytes`);
        this.procs.get(f.channel)?._stdinCredit(new DataView(f.payload.buffer, f.payload.byteOffset, 4).getUint32(0, true));
        break;
      }
      case FrameType.Hello: {
        const info = decodeObject<HelloInfo>(f);
        if (typeof info.proto !== 'number') throw new Error('HELLO without a numeric "proto"');
        if (info.proto !== PROTOCOL_VERSION) {
          this.close(new SkiffError('VM', `guest agent speaks protocol ${info.proto}, this host speaks ${PROTOCOL_VERSION}`));
          return;
        }
        this.info = info;
        for (const w of this.helloWaiters.splice(0)) w(info);
        break;
      }
      case FrameType.Response: {
        const p = this.pending.get(f.channel);
        if (!p) return;
        this.pending.delete(f.channel);
        clearTimeout(p.timer);
        let r: Record<string, unknown>;
        try {
          r = decodeObject<Record<string, unknown>>(f);
        } catch (err) {
          // The request fails with the reason instead of timing out.
          p.reject(new SkiffError('VM', `guest agent ${p.op}: malformed response (${(err as Error).message})`));
          throw err;
        }
        if (r.ok) p.resolve(r);
        else if (isStartFailureReason(r.reason)) p.reject(new StartFailure(r.reason, errnoCode(Number(r.errno)), `guest agent ${p.op}: ${String(r.error)}`));
        else p.reject(new SkiffError(errnoCode(Number(r.errno)), `guest agent ${p.op}: ${String(r.error)}`));
        break;
      }
      case FrameType.Stdout:
      case FrameType.Stderr: {
        const proc = this.procs.get(f.channel);
        if (!proc) return;
        const stream = f.type === FrameType.Stdout ? 0 : 1;
        if (f.payload.length === 0) (stream === 0 ? proc.stdout : proc.stderr).end();
        else if (!proc._output(stream, f.payload)) throw new Error(`process ${proc.pid}'s output went past its output window (over ${OUTPUT_HELD_MAX} bytes unread): dropped`);
        break;
      }
      case FrameType.Exit: {
        const proc = this.procs.get(f.channel);
        if (!proc) return;
        this.procs.delete(f.channel);
        let status: ExitStatus;
        try {
          status = decodeObject<ExitStatus>(f);
          if (!Number.isInteger(status.exitCode)) throw new Error('EXIT without an integer "exitCode"');
        } catch (err) {
          // The process fails with the reason instead of never exiting.
          proc._fail(new SkiffError('VM', `guest agent: malformed exit status for process ${proc.pid} (${(err as Error).message})`));
          throw err;
        }
        proc._exit({ ...status, oomKilled: status.oomKilled === true });
        break;
      }
      default:
        break;
    }
  }
}

/**
 * What a timed-out request's message adds: whether the agent is reading its port at all (its ACKs),
 * when it last said anything, and what else is still waiting for it.
 */
export function describeStall(s: AgentStall): string {
  const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const parts = [s.silentMs === null ? 'the agent has sent nothing yet' : `the agent's last frame came ${secs(s.silentMs)} ago`];
  if (s.unacknowledged > 0) parts.push(`${s.unacknowledged} bytes sent to it were never read (it is not reading its port)`);
  else parts.push('it read everything sent to it');
  if (s.waiting > 0) parts.push(`${s.waiting} more bytes wait to be sent`);
  if (s.others.length) {
    const shown = s.others.slice(0, 4).map((o) => `${o.op} (request ${o.id}) for ${secs(o.ageMs)}`);
    parts.push(`also unanswered: ${shown.join(', ')}${s.others.length > 4 ? ` and ${s.others.length - 4} more` : ''}`);
  }
  return parts.join('; ');
}

/** A JSON object payload, or an Error saying why not. */
function decodeObject<T>(f: Frame): T {
  const v = decodeJson<unknown>(f);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('payload is not a JSON object');
  return v as T;
}

function errnoCode(errno: number) {
  if (errno === 2 || errno === 3) return 'NOT_FOUND' as const; // ENOENT, ESRCH
  if (errno === 17) return 'ALREADY_EXISTS' as const;
  if (errno === 22) return 'INVALID_ARGUMENT' as const;
  if (errno === 16) return 'IN_USE' as const;
  if (errno === 38) return 'UNSUPPORTED' as const;
  return 'RUNTIME' as const;
}

function jsonText(v: string | object | undefined): string | undefined {
  return v === undefined || typeof v === 'string' ? v : JSON.stringify(v);
}

function describe(frame: Uint8Array): string {
  const dv = new DataView(frame.buffer, frame.byteOffset);
  return `${frameName(frame[2]!)} ch=${dv.getUint32(4, true)} ${preview({ type: frame[2] as FrameType, channel: 0, payload: frame.subarray(12) })}`;
}

function preview(f: Frame): string {
  const text = new TextDecoder().decode(f.payload.subarray(0, 160));
  return f.type === FrameType.Request || f.type === FrameType.Response || f.type === FrameType.Hello || f.type === FrameType.Exit
    ? text
    : `${f.payload.length} bytes`;
}
