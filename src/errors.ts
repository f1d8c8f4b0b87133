/**
 * The one error currency outside filesystems. `code` is stable and small; context goes in the
 * message, one phrase per hop ("loading busybox.tar: reading layer sha256:ab12: truncated tar").
 */
export type SkiffErrorCode =
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'INVALID_ARGUMENT'
  | 'INVALID_ARCHIVE'
  | 'DIGEST_MISMATCH'
  | 'UNSUPPORTED'
  | 'CONFLICT'
  | 'IN_USE'
  | 'STORAGE'
  | 'RUNTIME'
  | 'VM'
  | 'REGISTRY'
  | 'CANCELLED'
  | 'INTERNAL';

export class SkiffError extends Error {
  override readonly name = 'SkiffError';
  readonly code: SkiffErrorCode;
  constructor(code: SkiffErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
  toJSON(): { name: string; code: SkiffErrorCode; message: string } {
    return { name: this.name, code: this.code, message: this.message };
  }
  /** Prefix the message with a context phrase, keeping the code. */
  static wrap(err: unknown, context: string): SkiffError {
    if (err instanceof SkiffError) {
      const e = new SkiffError(err.code, `${context}: ${err.message}`, { cause: err });
      return e;
    }
    const msg = err instanceof Error ? err.message : String(err);
    return new SkiffError('INTERNAL', `${context}: ${msg}`, { cause: err });
  }
}

export function isSkiffError(err: unknown, code?: SkiffErrorCode): err is SkiffError {
  return err instanceof SkiffError && (code === undefined || err.code === code);
}
