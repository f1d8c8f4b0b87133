/** Linux (i386) signal numbers, by name, for the agent's signal op and for reporting exits. */
import { SkiffError } from '../../errors.ts';

export const SIGNALS: Readonly<Record<string, number>> = {
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGBUS: 7, SIGFPE: 8,
  SIGKILL: 9, SIGUSR1: 10, SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15,
  SIGSTKFLT: 16, SIGCHLD: 17, SIGCONT: 18, SIGSTOP: 19, SIGTSTP: 20, SIGTTIN: 21, SIGTTOU: 22,
  SIGURG: 23, SIGXCPU: 24, SIGXFSZ: 25, SIGVTALRM: 26, SIGPROF: 27, SIGWINCH: 28, SIGIO: 29,
  SIGPWR: 30, SIGSYS: 31,
};

export type SignalName = keyof typeof SIGNALS | string;

/** Accepts 9, "9", "KILL" or "SIGKILL" (Docker's --signal forms). */
export function signalNumber(sig: number | SignalName): number {
  if (typeof sig === 'number') {
    if (Number.isInteger(sig) && sig > 0 && sig < 65) return sig;
  } else if (/^\d+$/.test(sig)) {
    return signalNumber(Number(sig));
  } else {
    const name = sig.toUpperCase().startsWith('SIG') ? sig.toUpperCase() : `SIG${sig.toUpperCase()}`;
    const n = SIGNALS[name];
    if (n !== undefined) return n;
  }
  throw new SkiffError('INVALID_ARGUMENT', `unknown signal ${JSON.stringify(sig)}`);
}

export function signalName(n: number): string {
  for (const [k, v] of Object.entries(SIGNALS)) if (v === n) return k;
  return `SIG${n}`;
}
