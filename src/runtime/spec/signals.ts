/**
 * Signal names and numbers as Docker's `--stop-signal`, `docker kill -s` and the image config's
 * StopSignal accept them (moby/sys/signal.ParseSignal): a number, or a name with or without the SIG
 * prefix in any case, including RTMIN+n / RTMAX-n. Numbers are the Linux i386 ones (the guest's).
 */
import { SkiffError } from '../../errors.ts';

export type SignalNumber = number;

const BASE: Record<string, SignalNumber> = {
  HUP: 1, INT: 2, QUIT: 3, ILL: 4, TRAP: 5, ABRT: 6, IOT: 6, BUS: 7, FPE: 8, KILL: 9, USR1: 10,
  SEGV: 11, USR2: 12, PIPE: 13, ALRM: 14, TERM: 15, STKFLT: 16, CHLD: 17, CLD: 17, CONT: 18,
  STOP: 19, TSTP: 20, TTIN: 21, TTOU: 22, URG: 23, XCPU: 24, XFSZ: 25, VTALRM: 26, PROF: 27,
  WINCH: 28, IO: 29, POLL: 29, PWR: 30, SYS: 31, UNUSED: 31,
};

export const SIGRTMIN = 34;
export const SIGRTMAX = 64;

/** Every accepted name (without SIG) to its number. */
export const SIGNALS: Readonly<Record<string, SignalNumber>> = (() => {
  const map: Record<string, SignalNumber> = { ...BASE, RTMIN: SIGRTMIN, RTMAX: SIGRTMAX };
  for (let i = 1; i <= 15; i++) {
    map[`RTMIN+${i}`] = SIGRTMIN + i;
    map[`RTMAX-${i}`] = SIGRTMAX - i;
  }
  return map;
})();

/** `parseSignal("SIGTERM")`, `parseSignal("term")`, `parseSignal("9")`. Docker's error text. */
export function parseSignal(raw: string | number): SignalNumber {
  const text = String(raw).trim();
  if (/^[0-9]+$/.test(text)) {
    const n = Number(text);
    if (n < 1 || n > SIGRTMAX) throw new SkiffError('INVALID_ARGUMENT', `Invalid signal: ${text}`);
    return n;
  }
  const upper = text.toUpperCase();
  const name = upper.startsWith('SIG') ? upper.slice(3) : upper;
  const n = Object.hasOwn(SIGNALS, name) ? SIGNALS[name] : undefined;
  if (n === undefined) throw new SkiffError('INVALID_ARGUMENT', `Invalid signal: ${text}`);
  return n;
}

/** The canonical name ("SIGTERM", "SIGRTMIN+3") of a signal number, for inspect output. */
export function signalName(n: SignalNumber): string {
  for (const [name, num] of Object.entries(BASE)) {
    if (num === n && name !== 'IOT' && name !== 'CLD' && name !== 'POLL' && name !== 'UNUSED') return `SIG${name}`;
  }
  if (n === SIGRTMIN) return 'SIGRTMIN';
  if (n === SIGRTMAX) return 'SIGRTMAX';
  if (n > SIGRTMIN && n <= SIGRTMIN + 15) return `SIGRTMIN+${n - SIGRTMIN}`;
  if (n < SIGRTMAX && n >= SIGRTMAX - 14) return `SIGRTMAX-${SIGRTMAX - n}`;
  return `SIG${n}`;
}
