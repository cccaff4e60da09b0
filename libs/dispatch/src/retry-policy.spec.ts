import { retryAfterMs } from './http-client';
import { backoffMs, RETRY_CAP_MS, retryDelayMs, verdictForStatus } from './retry-policy';

describe('verdictForStatus', () => {
  it('succeeds on 2xx, retries what a busy or down application answers, and takes any other 4xx as a refusal', () => {
    expect([200, 204, 299].map(verdictForStatus)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect([500, 503, 429, 408].map(verdictForStatus)).toEqual(['retry', 'retry', 'retry', 'retry']);
    expect([400, 401, 404, 302].map(verdictForStatus)).toEqual(['failed', 'failed', 'failed', 'failed']);
  });
});

describe('backoffMs', () => {
  it('doubles from one second, within [half, whole] of the ceiling, and stops at five minutes', () => {
    expect([1, 2, 3].map((attempt) => backoffMs(attempt, () => 0))).toEqual([500, 1000, 2000]);
    expect([1, 2, 3].map((attempt) => backoffMs(attempt, () => 1))).toEqual([1000, 2000, 4000]);
    expect(backoffMs(30, () => 1)).toBe(RETRY_CAP_MS);
  });
});

describe('retryAfterMs (RFC 9110 §10.2.3)', () => {
  const now = Date.parse('2026-11-26T03:00:00Z');
  it('reads delay-seconds and an HTTP-date; a date gone by is no wait', () => {
    expect(retryAfterMs('120', now)).toBe(120_000);
    expect(retryAfterMs(' 0 ', now)).toBe(0);
    expect(retryAfterMs('Thu, 26 Nov 2026 03:00:30 GMT', now)).toBe(30_000);
    expect(retryAfterMs('Thu, 26 Nov 2026 02:00:00 GMT', now)).toBe(0);
  });
  it('ignores what it cannot read', () => {
    for (const header of [undefined, '', '-5', '1.5', 'soon', '12345678901', ['10']])
      expect(retryAfterMs(header, now)).toBeNull();
  });
});

describe('retryDelayMs', () => {
  it('waits as long as the application asks when that is longer than the backoff, never past the cap', () => {
    expect(retryDelayMs(1, null, () => 0)).toBe(500);
    expect(retryDelayMs(1, 200, () => 0)).toBe(500);
    expect(retryDelayMs(1, 7000, () => 0)).toBe(7000);
    expect(retryDelayMs(1, 24 * 3_600_000, () => 0)).toBe(RETRY_CAP_MS);
  });
});
