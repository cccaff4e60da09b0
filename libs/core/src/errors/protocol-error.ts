import { HttpException } from '@nestjs/common';

/**
 * A refusal by an endpoint whose specification names its error codes and its body: rendered
 * `{error, error_description}` with its status and headers, whatever the client accepts (ErrorsFilter).
 * Its protocols' classes extend it: OAuthError (RFC 6749 §5.2, RFC 6750 §3) and SsfError (SSF 1.0 §8,
 * RFC 8935). Library refusals that are not a protocol's own are SignoffErrors.
 */
export class ProtocolError extends HttpException {
  constructor(
    /** The specification's code (`invalid_request`, `invalid_token`, …). */
    readonly error: string,
    readonly description: string,
    status = 400,
    /** Sent with the answer (a bearer challenge, Retry-After). */
    readonly headers: Record<string, string> = {},
  ) {
    super({ error, error_description: description }, status);
  }
}
