/** A process in the guest whose stdio is one agent channel (see AgentClient.spawn/run/exec). */
import { ByteStream } from './byte-stream.ts';
import { OUTPUT_HELD_MAX, OutputCredit, StdinWindow } from './flow.ts';
import type { ExitStatus } from './protocol.ts';
import { signalNumber, type SignalName } from './signals.ts';

/** What the process handle needs from the client; keeps the two files apart. */
export interface ProcessControl {
  /** One STDIN frame (within the process's window; empty = EOF). */
  stdin(channel: number, data: Uint8Array): void;
  /** One CREDIT frame: room for this many more bytes of stdout and stderr. */
  credit(channel: number, stdout: number, stderr: number): void;
  request(op: string, fields: Record<string, unknown>): Promise<Record<string, unknown>>;
}

export class AgentProcess {
  /** Output windows (flow.ts): room goes back to the agent as readers take bytes. */
  private readonly credit = new OutputCredit((o, e) => { if (!this.exitStatus) this.ctl.credit(this.channel, o, e); });
  private readonly stdin = new StdinWindow((bytes) => this.ctl.stdin(this.channel, bytes));
  /** Output of stdout/stderr pushed but not taken yet (bounded by OUTPUT_HELD_MAX). */
  private readonly held = [0, 0];
  readonly stdout = new ByteStream((n) => { this.held[0]! -= n; this.credit.accepted(0, n); });
  readonly stderr = new ByteStream((n) => { this.held[1]! -= n; this.credit.accepted(1, n); });
  /** PID in the guest's root pid namespace; 0 until the agent has answered. */
  pid = 0;
  private exitStatus: ExitStatus | null = null;
  private readonly exited: Promise<ExitStatus>;
  private resolveExit!: (s: ExitStatus) => void;
  private rejectExit!: (e: unknown) => void;

  constructor(readonly channel: number, readonly tty: boolean, private readonly ctl: ProcessControl) {
    this.exited = new Promise((res, rej) => {
      this.resolveExit = res;
      this.rejectExit = rej;
    });
    this.exited.catch(() => {}); // observed through wait()
  }

  /**
   * Bytes to the process's stdin (the pty for a TTY). A promise: more than STDIN_HIGH_WATER waits
   * on the host, the writer should pause until it settles (runtime/stdin-gate.ts).
   */
  write(data: Uint8Array | string): Promise<void> | undefined {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    return this.stdin.write(bytes);
  }

  /** EOF on stdin (a no-op for a TTY: send ^D instead). */
  closeStdin(): void {
    this.stdin.close();
  }

  /** Bytes written with write() that wait on the host for room in the agent. */
  get stdinQueued(): number {
    return this.stdin.queued;
  }

  /**
   * @internal from the client: output of stream 0 (stdout) or 1 (stderr). False, and dropped,
   * when it would leave more than OUTPUT_HELD_MAX unread: the guest ignored its window.
   */
  _output(stream: 0 | 1, bytes: Uint8Array): boolean {
    const s = stream === 0 ? this.stdout : this.stderr;
    if (s.isEnded) return true;
    if (this.held[stream]! + bytes.length > OUTPUT_HELD_MAX) return false;
    this.held[stream]! += bytes.length;
    s.push(bytes);
    return true;
  }

  /** @internal from the client: the agent wrote (or dropped) n bytes of stdin. */
  _stdinCredit(n: number): void {
    this.stdin.credit(n);
  }

  async resize(size: { rows: number; cols: number }): Promise<void> {
    await this.ctl.request('resize', { channel: this.channel, rows: size.rows, cols: size.cols });
  }

  async signal(sig: number | SignalName): Promise<void> {
    await this.ctl.request('signal', { channel: this.channel, signal: signalNumber(sig) });
  }

  /** Resolves once the process has exited and its output has been delivered. */
  wait(): Promise<ExitStatus> {
    return this.exited;
  }

  get exit(): ExitStatus | null {
    return this.exitStatus;
  }

  /** @internal from the client */
  _exit(status: ExitStatus): void {
    this.stdin.abandon();
    this.stdout.end();
    this.stderr.end();
    this.exitStatus = status;
    this.resolveExit(status);
  }

  /** @internal from the client: the VM went away. */
  _fail(err: unknown): void {
    this.stdin.abandon();
    this.stdout.end();
    this.stderr.end();
    this.rejectExit(err);
  }
}
