/**
 * Why a container's process could not be started, as the runtime knows it (the guest agent's
 * `reason` field, derived from crun's errno): the engine turns it into Docker's exit status,
 * 127 for a command that does not exist, 126 for one that cannot be executed, else 125.
 */
import { SkiffError, type SkiffErrorCode } from '../errors.ts';

export type StartFailureReason = 'not-found' | 'not-executable';

export function isStartFailureReason(v: unknown): v is StartFailureReason {
  return v === 'not-found' || v === 'not-executable';
}

/** A start (or exec) that failed for a known reason. */
export class StartFailure extends SkiffError {
  constructor(readonly reason: StartFailureReason, code: SkiffErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** The reason on `err` or any error in its cause chain (SkiffError.wrap keeps the original as cause). */
export function startFailureReason(err: unknown): StartFailureReason | undefined {
  for (let e = err, depth = 0; e && depth < 16; e = (e as { cause?: unknown }).cause, depth++) {
    const r = (e as { reason?: unknown }).reason;
    if (e instanceof Error && isStartFailureReason(r)) return r;
  }
  return undefined;
}

/** Docker's exit status for a container or exec that could not start. */
export function startFailureExitCode(err: unknown): number {
  const reason = startFailureReason(err);
  return reason === 'not-found' ? 127 : reason === 'not-executable' ? 126 : 125;
}
