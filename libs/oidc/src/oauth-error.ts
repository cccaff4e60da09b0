import { ProtocolError } from '@signoff/core';

/**
 * An OAuth/OIDC error: rendered as `{error, error_description}` by the HTTP layer (RFC 6749 §5.2),
 * or sent to the client's redirect URI once that URI is known to be registered.
 */
export class OAuthError extends ProtocolError {}
