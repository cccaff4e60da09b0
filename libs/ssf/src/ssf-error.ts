import { ProtocolError } from '@signoff/core';

/**
 * A refusal of the SSF endpoints (stream management, poll): rendered `{error, error_description}`
 * with its status and headers (SSF 1.0 §8 names the statuses; RFC 6750 §3 the bearer challenges).
 * Stable `error` codes: invalid_request (400), invalid_token (401), not_found (404), conflict (409),
 * too_many_requests (429).
 */
export class SsfError extends ProtocolError {}

export const badRequest = (description: string) => new SsfError('invalid_request', description, 400);
export const noSuchStream = () => new SsfError('not_found', 'no such stream for this receiver', 404);
