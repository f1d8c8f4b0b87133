/**
 * Who holds a lock: a pid alone is not an identity (pids are reused, and a lock naming a reused
 * pid would block every command until a timeout), so a holder is named by pid plus the kernel's
 * start time of that process (field 22 of /proc/<pid>/stat, in clock ticks since boot). A holder
 * is alive when a process with that pid exists and started at that time. Without /proc (macOS,
 * Windows) the start time is '' and liveness falls back to kill(pid, 0).
 */
import { readFileSync } from 'node:fs';

export interface ProcessIdentity {
  pid: number;
  /** Start time from /proc, or '' where the platform has none. */
  start: string;
}

/** The start time of `pid`; null when no such process exists, '' when the platform cannot say. */
export function processStart(pid: number): string | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') return procMounted() ? null : kill0(pid) ? '' : null;
    return '';
  }
  // The command name (field 2) is in parentheses and may hold spaces and ')': cut at the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return rest[19] ?? '';
}

let selfId: ProcessIdentity | undefined;
export function selfIdentity(): ProcessIdentity {
  return (selfId ??= { pid: process.pid, start: processStart(process.pid) ?? '' });
}

/** Whether the process named by `id` still runs (the same process, not a reuse of its pid). */
export function identityAlive(id: ProcessIdentity): boolean {
  if (!Number.isInteger(id.pid) || id.pid <= 0) return false;
  const now = processStart(id.pid);
  if (now === null) return false;
  if (now === '' || id.start === '') return kill0(id.pid);
  return now === id.start;
}

export function formatIdentity(id: ProcessIdentity): string {
  return `${id.pid} ${id.start || '-'}`;
}

/** Parses what `formatIdentity` wrote (first two words); null when it is not one. */
export function parseIdentity(text: string): ProcessIdentity | null {
  const [pid, start] = text.trim().split(/\s+/);
  const n = Number(pid);
  if (!Number.isInteger(n) || n <= 0) return null;
  return { pid: n, start: start === undefined || start === '-' ? '' : start };
}

let procChecked: boolean | undefined;
function procMounted(): boolean {
  if (procChecked === undefined) {
    try {
      readFileSync('/proc/self/stat');
      procChecked = true;
    } catch {
      procChecked = false;
    }
  }
  return procChecked;
}

function kill0(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
