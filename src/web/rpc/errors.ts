/**
 * Comlink's default "throw" handler keeps only name/message/stack, so a `SkiffError` would arrive
 * as a plain Error without its `code`. This replaces it (in every realm that talks comlink: the
 * page and the engine worker) with one that rebuilds a SkiffError with the same code.
 */
import { transferHandlers, type TransferHandler } from 'comlink';
import { SkiffError, type SkiffErrorCode } from '../../errors.ts';
import { StartFailure, startFailureReason, type StartFailureReason } from '../../runtime/start-failure.ts';

interface WireError {
  isError: boolean;
  value: unknown;
}

interface WireErrorValue {
  name: string;
  message: string;
  stack?: string;
  code?: SkiffErrorCode;
  /** Why a process could not start (126/127 on the page as in the CLI). */
  reason?: StartFailureReason;
}

let installed = false;

/** Idempotent; call once per realm before the first call crosses the boundary. */
export function installErrorTransfer(): void {
  if (installed) return;
  installed = true;
  const original = transferHandlers.get('throw')!;
  const handler: TransferHandler<{ value: unknown }, WireError> = {
    canHandle: (v): v is { value: unknown } => original.canHandle(v),
    serialize({ value }) {
      if (value instanceof Error) {
        const wire: WireErrorValue = { name: value.name, message: value.message, ...(value.stack ? { stack: value.stack } : {}) };
        if (value instanceof SkiffError) wire.code = value.code;
        else if (typeof (value as { code?: unknown }).code === 'string') wire.code = 'INTERNAL';
        const reason = startFailureReason(value);
        if (reason) wire.reason = reason;
        return [{ isError: true, value: wire }, []];
      }
      return [{ isError: false, value }, []];
    },
    deserialize(w) {
      throw reviveError(w);
    },
  };
  transferHandlers.set('throw', handler as TransferHandler<unknown, unknown>);
}

export function reviveError(w: WireError): unknown {
  if (!w.isError) return w.value;
  const v = w.value as WireErrorValue;
  if (v.code) {
    const e = v.reason ? new StartFailure(v.reason, v.code, v.message) : new SkiffError(v.code, v.message);
    if (v.stack) e.stack = v.stack;
    return e;
  }
  return Object.assign(new Error(v.message), v);
}

/** What the page shows for any error: SkiffErrors as-is, anything else tagged INTERNAL. */
export function toSkiffError(err: unknown): SkiffError {
  if (err instanceof SkiffError) return err;
  if (err instanceof Error && typeof (err as { code?: unknown }).code === 'string' && err.name === 'SkiffError') {
    return new SkiffError((err as unknown as { code: SkiffErrorCode }).code, err.message);
  }
  return new SkiffError('INTERNAL', err instanceof Error ? err.message : String(err));
}
