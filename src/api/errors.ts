/**
 * Errors as the Engine API returns them: a status code and `{"message": ...}`. Engine errors
 * (SkiffError) map onto Docker's statuses by their code, so a handler just lets them through.
 */
import { isSkiffError, type SkiffErrorCode } from '../errors.ts';

export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

const STATUS: Partial<Record<SkiffErrorCode, number>> = {
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  CONFLICT: 409,
  IN_USE: 409,
  INVALID_ARGUMENT: 400,
  INVALID_ARCHIVE: 400,
  DIGEST_MISMATCH: 400,
  UNSUPPORTED: 501,
  CANCELLED: 499,
};

/** The HTTP status and message Docker would answer for an error thrown by a handler. */
export function errorResponse(err: unknown): { status: number; message: string } {
  if (err instanceof ApiError) return { status: err.status, message: err.message };
  if (isSkiffError(err)) return { status: STATUS[err.code] ?? 500, message: err.message };
  return { status: 500, message: err instanceof Error ? err.message : String(err) };
}

export const badRequest = (message: string): ApiError => new ApiError(400, message);
export const notFound = (message: string): ApiError => new ApiError(404, message);
export const conflict = (message: string): ApiError => new ApiError(409, message);
export const notImplemented = (what: string): ApiError => new ApiError(501, `skiff does not implement ${what}`);
