/**
 * Stable codes for what Signoff refuses, one per kind of refusal, with the HTTP status each is answered
 * with. Libraries throw SignoffError with a code; the HTTP layer renders it in one place (ErrorsFilter:
 * the JSON `error` and `code` members, or the error page; protocol endpoints map the SAML codes to a
 * SOAP fault), so a library never decides how a refusal is rendered. Codes never change meaning.
 */
export const ERROR_STATUS = {
  /** A request that is malformed or not allowed as asked (a missing or repeated parameter, a bad value). */
  invalid_request: 400,
  /** A SAML message refused for what it says: unknown Issuer, bad signature, Destination, time, replay. */
  saml_message_refused: 400,
  /** A SAML message refused for how it is written: DOCTYPE, not base64, too large once inflated. */
  unsafe_xml: 400,
  /** SAML metadata of a service provider that cannot be used. */
  invalid_sp_metadata: 400,
  /** OAuth client metadata that cannot be used (RFC 7591 §3.2.2: invalid_client_metadata / invalid_redirect_uri). */
  invalid_client_metadata: 400,
  /** SAML attribute settings of a service provider that cannot be used (a bad name, field or count); `details` lists each. */
  invalid_attribute_mapping: 400,
  /** A password the password policy refuses. */
  weak_password: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  /** A stage some flow binds: unbind it first (`details.flows` lists them). */
  stage_in_use: 409,
  /** A flow some applications run: deleting it needs `force`, and they fall back to the default (`details.applications`). */
  flow_in_use: 409,
  /** A flow with no user_logout or provider_logout stage, bound to an application without `confirmEndsNoSession`: it would end no session. */
  flow_ends_no_session: 409,
  /** An application with live sessions, deleted without `endSessions` (`details.liveSessions`: how many). */
  provider_has_sessions: 409,
  /** A secret rotated for an application that has none: a public OIDC client or a SAML SP. */
  no_client_secret: 409,
  /** A logout delivery that cannot be sent again: not back-channel (only the user's browser runs front-channel ones), or not failed or dead. */
  delivery_not_retryable: 409,
  temporarily_unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** A refusal with a stable `code` and a message fit to show the person or client that asked. */
export class SignoffError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
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
