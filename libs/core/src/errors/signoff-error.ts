/**
 * Stable codes for what Signoff refuses, one per kind of refusal. Libraries throw SignoffError with a
 * code; the HTTP layer maps each code to its status and representation in one place (ErrorsFilter:
 * JSON `error` member, error page), so a library never decides how a refusal is rendered.
 */
export const ERROR_STATUS = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  temporarily_unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** A refusal with a stable `code` and a message fit to show the person or client that asked. */
export class SignoffError extends Error {
  constructor(readonly code: ErrorCode, message: string, readonly details?: unknown) {
    super(message);
    this.name = 'SignoffError';
  }

  /** The HTTP status this refusal is answered with. */
  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

export function isSignoffError(error: unknown): error is SignoffError {
  return error instanceof SignoffError;
}
