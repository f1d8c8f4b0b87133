/**
 * When and how long to wait before trying a registry request again: 429 and 5xx answers and
 * dropped connections are retried with exponential backoff and jitter (Retry-After wins when the
 * registry sends one, within reason); everything else is the caller's to report. Sans-IO.
 */

export interface RetryPolicy {
  /** Tries in all, the first included. */
  attempts: number;
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseMs: 250, maxMs: 8_000 };

export function retryableStatus(status: number): boolean {
  return status === 429 || status === 408 || (status >= 500 && status !== 501 && status !== 505);
}

/** Delay before try number `attempt + 1` (attempt counts from 1). */
export function backoffMs(policy: RetryPolicy, attempt: number, retryAfter: string | null | undefined, random: () => number = Math.random): number {
  const ra = retryAfter ? Number(retryAfter) : NaN;
  if (Number.isFinite(ra) && ra >= 0) return Math.min(ra * 1000, policy.maxMs * 4);
  const exp = Math.min(policy.maxMs, policy.baseMs * 2 ** (attempt - 1));
  return Math.round(exp / 2 + random() * (exp / 2));
}

/** A connection that failed or dropped (fetch's TypeError, an undici socket error), not an HTTP answer. */
export function isNetworkError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'AbortError') return false;
  if (err.name === 'TypeError') return true;
  const code = (err as { code?: unknown }).code ?? (err.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /^(ECONN|EPIPE|ETIMEDOUT|EAI_AGAIN|UND_ERR|ENETUNREACH|EHOSTUNREACH|ERR_STREAM_PREMATURE_CLOSE)/.test(code);
}

/** The underlying reason of a network error, for a message ("ECONNREFUSED", "other side closed"). */
export function networkReason(err: unknown): string {
  const e = err as Error & { cause?: Error & { code?: string } };
  const c = e.cause;
  if (c?.code) return c.message?.includes(c.code) ? c.message : `${c.code}${c.message ? ` (${c.message})` : ''}`;
  return c?.message ?? e.message;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
