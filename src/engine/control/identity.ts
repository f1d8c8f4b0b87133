/**
 * Who a pid is (Node). A pid alone names a process only while it lives: once the owner is gone the
 * kernel hands the number to the next process, so a record's pid is checked together with the
 * start time the owner wrote (Linux: /proc/<pid>/stat field 22, clock ticks since boot).
 */
import { readFileSync } from 'node:fs';

/** The start time of `pid` ('self' for this process); undefined without /proc or when it is gone. */
export function processStart(pid: number | 'self'): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // comm (field 2) may hold spaces and parentheses: fields count from the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const start = rest[19];
  return start && /^\d+$/.test(start) ? start : undefined;
}

/** Whether /proc can tell start times here (Linux). */
export function canProve(): boolean {
  return processStart('self') !== undefined;
}

export type PidVerdict = 'same' | 'other' | 'gone' | 'unknown';

/**
 * Compares the process now at `pid` with the one recorded: 'same' (pid and start time match),
 * 'other' (the pid was reused, or the record has no start time to prove it), 'gone', or
 * 'unknown' (no /proc here, only that some process has the pid).
 */
export function checkPid(pid: number, start: string | undefined): PidVerdict {
  const now = processStart(pid);
  if (now !== undefined) return start !== undefined && now === start ? 'same' : 'other';
  if (canProve()) return 'gone';
  try {
    process.kill(pid, 0);
    return 'unknown';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? 'unknown' : 'gone';
  }
}
