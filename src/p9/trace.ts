/**
 * One-line renderings of 9P messages for the trace switch (`trace` option or SKIFF_TRACE=9p):
 * debugging a guest without a message log is guesswork.
 */
import type { Message, Qid } from './messages.ts';

export type TraceSink = (line: string) => void;

function qidText(q: Qid): string {
  return `(${q.type.toString(16)} ${q.version} ${q.path})`;
}

function valueText(v: unknown): string {
  if (v instanceof Uint8Array) return `<${v.length} bytes>`;
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(valueText).join(' ')}]`;
  if (typeof v === 'object' && v !== null && 'path' in v) return qidText(v as Qid);
  return String(v);
}

/** "Twalk tag=3 fid=1 newfid=2 wnames=["etc" "passwd"]" */
export function describe(msg: Message): string {
  const parts = [msg.type, `tag=${msg.tag}`];
  for (const [k, v] of Object.entries(msg)) {
    if (k === 'type' || k === 'tag') continue;
    parts.push(`${k}=${valueText(v)}`);
  }
  return parts.join(' ');
}

/** The sink the `trace` option selects: a function, or true (stderr). src/node.ts turns SKIFF_TRACE=9p into true. */
export function traceSink(option: boolean | TraceSink | undefined): TraceSink | undefined {
  if (typeof option === 'function') return option;
  if (option === true) return (line) => console.error(line);
  return undefined;
}
