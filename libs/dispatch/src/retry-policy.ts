/** What one attempt's result means for the delivery. */
export type AttemptVerdict = 'succeeded' | 'retry' | 'failed';

/**
 * 2xx succeeds. Network errors, timeouts, 5xx and 429 are worth retrying (the application is down or
 * busy); any other 4xx is the application refusing this message, and sending it again will not help.
 */
export function verdictForStatus(status: number): AttemptVerdict {
  if (status >= 200 && status < 300) return 'succeeded';
  if (status >= 500 || status === 429 || status === 408) return 'retry';
  return 'failed';
}

const BASE_MS = 1000;
/** The longest wait between two attempts, whatever the backoff or the application's Retry-After asks. */
export const RETRY_CAP_MS = 5 * 60_000;

/** Exponential backoff with full jitter before attempt `attempt + 1` (attempt counts from 1). */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(RETRY_CAP_MS, BASE_MS * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/**
 * The wait before the next attempt: the backoff, or longer when the application asked for it with
 * Retry-After (RFC 9110 §10.2.3; RFC 6585 §4 for 429), never beyond RETRY_CAP_MS.
 */
export function retryDelayMs(attempt: number, retryAfterMs: number | null, random: () => number = Math.random): number {
  return Math.min(RETRY_CAP_MS, Math.max(backoffMs(attempt, random), retryAfterMs ?? 0));
}
