import { describe, expect, it } from 'vitest';
import { isSkiffError } from '../../../src/errors.ts';
import { parseSignal, signalName } from '../../../src/runtime/spec/signals.ts';

describe('signals (moby/sys/signal.ParseSignal)', () => {
  it.each([
    ['SIGTERM', 15], ['TERM', 15], ['term', 15], ['SigKill', 9], ['9', 9], ['KILL', 9], ['HUP', 1],
    ['SIGUSR1', 10], ['SIGCHLD', 17], ['CLD', 17], ['SIGWINCH', 28], ['SIGRTMIN', 34], ['RTMIN+3', 37],
    ['SIGRTMAX-1', 63], ['RTMAX', 64], ['64', 64], ['IOT', 6],
  ])('%s = %d', (name, n) => {
    expect(parseSignal(name)).toBe(n);
  });

  it.each(['0', '65', 'SIGFOO', '', 'SIG', '-1', 'RTMIN+16', 'hasOwnProperty', '__proto__'])('rejects %j', (name) => {
    try {
      parseSignal(name);
      throw new Error('expected an error');
    } catch (err) {
      expect(isSkiffError(err, 'INVALID_ARGUMENT')).toBe(true);
      expect((err as Error).message).toBe(`Invalid signal: ${name}`);
    }
  });

  it('names numbers canonically', () => {
    expect(signalName(15)).toBe('SIGTERM');
    expect(signalName(6)).toBe('SIGABRT');
    expect(signalName(17)).toBe('SIGCHLD');
    expect(signalName(34)).toBe('SIGRTMIN');
    expect(signalName(40)).toBe('SIGRTMIN+6');
    expect(signalName(60)).toBe('SIGRTMAX-4');
    for (let n = 1; n <= 64; n++) if (n !== 32 && n !== 33) expect(parseSignal(signalName(n))).toBe(n);
  });
});
