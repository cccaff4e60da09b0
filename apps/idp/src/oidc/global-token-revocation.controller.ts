import { Body, Controller, Headers, HttpCode, Post, Req } from '@nestjs/common';
import { type Actor, parseUserSubject, SubjectIdentifierError } from '@signoff/core';
import { GlobalTokenRevocation } from '@signoff/logout';
import { OAuthError } from '@signoff/oidc';
import type { Request } from 'express';
import { ApiTokensService } from '../admin/api-tokens.service';

/**
 * Global Token Revocation (draft-parecki-oauth-global-token-revocation-05 §3): a trusted party (a
 * security tool) names a user by a subject identifier, and every session and token of theirs ends.
 * Authenticated (§3.2) by an API token made for this alone (scope `global_token_revocation`, §6.1),
 * whose owner is an active administrator. 204 once it is committed; 400, 401, 403, 404 as §3.4 says.
 */
@Controller('oauth2/global-token-revocation')
export class GlobalTokenRevocationController {
  constructor(
    private readonly tokens: ApiTokensService,
    private readonly revocation: GlobalTokenRevocation,
  ) {}

  @Post()
  @HttpCode(204)
  async revoke(
    @Req() req: Request,
    @Headers('authorization') authorization: string | undefined,
    @Body() body: unknown,
  ): Promise<void> {
    const caller = await this.caller(authorization);
    if (!req.is('application/json')) throw new OAuthError('invalid_request', 'send the request as application/json');
    const fields = typeof body === 'object' && body !== null && !Array.isArray(body) ? body : null;
    if (!fields || !('sub_id' in fields))
      throw new OAuthError('invalid_request', 'the request is a JSON object with a "sub_id" (a subject identifier)');
    let subject;
    try {
      subject = parseUserSubject(fields.sub_id);
    } catch (error) {
      if (error instanceof SubjectIdentifierError) throw new OAuthError('invalid_request', `sub_id: ${error.message}`);
      throw error;
    }
    const operation = await this.revocation.revoke(subject, caller.actor, caller.tokenId);
    if (!operation) throw new OAuthError('user_not_found', 'the subject identifier names no user here', 404);
  }

  /** The administrator behind the API token, and the token, when the token may make this call. */
  private async caller(authorization: string | undefined): Promise<{ actor: Actor; tokenId: string }> {
    // RFC 6750 §3.1: a request without credentials gets a bare challenge; a bad token, invalid_token.
    if (authorization === undefined)
      throw new OAuthError('invalid_request', 'send an API token as a Bearer token', 401, {
        'WWW-Authenticate': 'Bearer',
      });
    const bearer = /^Bearer ([A-Za-z0-9_-]{16,128})$/i.exec(authorization)?.[1];
    const token = bearer ? await this.tokens.authenticate(bearer) : null;
    if (!token)
      throw new OAuthError('invalid_token', 'the API token is invalid, expired or revoked', 401, {
        'WWW-Authenticate': 'Bearer error="invalid_token"',
      });
    if (!token.scopes.includes('global_token_revocation') || !token.user.isAdmin)
      throw new OAuthError(
        'insufficient_scope',
        token.user.isAdmin
          ? 'this API token was not made for global token revocation (scope global_token_revocation)'
          : "this API token's user is no longer an administrator",
        403,
        { 'WWW-Authenticate': 'Bearer error="insufficient_scope", scope="global_token_revocation"' },
      );
    return { actor: { type: 'admin', id: token.user.id }, tokenId: token.id };
  }
}
