/**
 * Catching the SkiffError a call must throw. Each helper fails the test when the call returns, or
 * throws anything but a SkiffError (with the given code, when one is given).
 */
import { isSkiffError, type SkiffError, type SkiffErrorCode } from '../../src/errors.ts';

function check(err: unknown, code?: SkiffErrorCode): SkiffError {
  if (isSkiffError(err, code)) return err;
  const want = code ? `a SkiffError ${code}` : 'a SkiffError';
  throw new Error(`expected ${want}, got ${isSkiffError(err) ? `${err.code}: ${err.message}` : String(err)}`, { cause: err });
}

/** The SkiffError `fn` throws. */
export function skiffErrorOf(fn: () => unknown, code?: SkiffErrorCode): SkiffError {
  try {
    fn();
  } catch (err) {
    return check(err, code);
  }
  throw new Error(`expected ${code ?? 'a SkiffError'}, but the call returned`);
}

/** The SkiffError `p` rejects with. */
export async function skiffRejectionOf(p: Promise<unknown>, code?: SkiffErrorCode): Promise<SkiffError> {
  try {
    await p;
  } catch (err) {
    return check(err, code);
  }
  throw new Error(`expected ${code ?? 'a SkiffError'}, but the promise resolved`);
}

/** `{ code, message }` of what `fn` throws: compares whole with toEqual. */
export function errorOf(fn: () => unknown): { code: SkiffErrorCode; message: string } {
  const { code, message } = skiffErrorOf(fn);
  return { code, message };
}

/** "CODE: message" of what `fn` throws. */
export function codeAndMessage(fn: () => unknown): string {
  const { code, message } = skiffErrorOf(fn);
  return `${code}: ${message}`;
}

/** The message of the INVALID_ARGUMENT (or `code`) error `fn` throws. */
export function messageOf(fn: () => unknown, code: SkiffErrorCode = 'INVALID_ARGUMENT'): string {
  return skiffErrorOf(fn, code).message;
}

/** `fn` throws a SkiffError with `code` whose message matches `re`. */
export function expectSkiffError(fn: () => unknown, code: SkiffErrorCode, re?: RegExp): void {
  const err = skiffErrorOf(fn, code);
  if (re && !re.test(err.message)) throw new Error(`${code} message ${JSON.stringify(err.message)} does not match ${re}`);
}

/** `p` rejects with a SkiffError with `code` whose message matches `re`. */
export async function expectSkiffRejection(p: Promise<unknown>, code: SkiffErrorCode, re?: RegExp): Promise<void> {
  const err = await skiffRejectionOf(p, code);
  if (re && !re.test(err.message)) throw new Error(`${code} message ${JSON.stringify(err.message)} does not match ${re}`);
}
