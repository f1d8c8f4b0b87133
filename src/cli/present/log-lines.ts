/**
 * `skiff logs` output from the engine's stored chunks: whole lines, Docker's way. `--tail n`
 * counts lines (across both streams), `-t` starts each line with the time its first byte arrived
 * (RFC 3339, as Docker), `--since` drops earlier chunks. A last line without a newline is kept.
 */
import type { LogEntry } from '../../engine/lifecycle.ts';

export interface LogLineOptions {
  timestamps?: boolean;
  tail?: number | 'all';
  since?: Date;
}

export interface LogLine {
  stream: LogEntry['stream'];
  text: string;
}

export function logLines(entries: readonly LogEntry[], o: LogLineOptions = {}): LogLine[] {
  const lines: { time: string; stream: LogEntry['stream']; text: string }[] = [];
  const decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };
  const open: Partial<Record<LogEntry['stream'], { time: string; text: string }>> = {};
  const since = o.since?.toISOString();
  for (const e of entries) {
    if (since && e.time < since) continue;
    const parts = decoders[e.stream].decode(e.data, { stream: true }).split('\n');
    parts.forEach((part, i) => {
      const cur = (open[e.stream] ??= { time: e.time, text: '' });
      cur.text += part;
      if (i < parts.length - 1) {
        lines.push({ time: cur.time, stream: e.stream, text: `${cur.text}\n` });
        delete open[e.stream];
      }
    });
  }
  for (const stream of ['stdout', 'stderr'] as const) {
    const cur = open[stream];
    if (cur && cur.text !== '') lines.push({ time: cur.time, stream, text: cur.text });
  }
  const tail = o.tail === undefined || o.tail === 'all' || o.tail < 0 ? lines : o.tail === 0 ? [] : lines.slice(-o.tail);
  return tail.map((l) => ({ stream: l.stream, text: o.timestamps ? `${l.time} ${l.text}` : l.text }));
}
