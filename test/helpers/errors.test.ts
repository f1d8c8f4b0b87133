/** The error helpers fail when they should: a check that cannot fail is no check. */
import { describe, expect, it } from 'vitest';
import { SkiffError } from '../../src/errors.ts';
import { codeAndMessage, expectSkiffError, expectSkiffRejection, messageOf, skiffRejectionOf } from './errors.ts';

const bad = (): never => { throw new SkiffError('INVALID_ARGUMENT', 'bad value'); };

describe('test/helpers/errors', () => {
  it('returns what was thrown', async () => {
    expect(messageOf(bad)).toBe('bad value');
    expect(codeAndMessage(bad)).toBe('INVALID_ARGUMENT: bad value');
    expect((await skiffRejectionOf(Promise.reject(new SkiffError('NOT_FOUND', 'gone')), 'NOT_FOUND')).message).toBe('gone');
  });

  it('fails on no error, another code, another class, another message', async () => {
    expect(() => messageOf(() => 1)).toThrow(/but the call returned/);
    expect(() => expectSkiffError(bad, 'NOT_FOUND')).toThrow(/expected a SkiffError NOT_FOUND, got INVALID_ARGUMENT: bad value/);
    expect(() => expectSkiffError(() => { throw new TypeError('plain'); }, 'INVALID_ARGUMENT')).toThrow(/got TypeError: plain/);
    expect(() => expectSkiffError(bad, 'INVALID_ARGUMENT', /other/)).toThrow(/does not match \/other\//);
    await expect(expectSkiffRejection(Promise.resolve(1), 'INVALID_ARCHIVE')).rejects.toThrow(/the promise resolved/);
  });
});
