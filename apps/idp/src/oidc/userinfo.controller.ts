import { All, Body, Controller, Headers } from '@nestjs/common';
import { OAuthError, TokensService } from '@signoff/oidc';

/** UserInfo (OIDC Core 5.3): the claims of the access token's scope, with the sub its client was given. */
@Controller('oauth2/userinfo')
export class UserinfoController {
  constructor(private readonly tokens: TokensService) {}

  @All()
  async userinfo(
    @Headers('authorization') authorization: string | undefined,
    @Body() body: Record<string, unknown> | undefined,
  ) {
    const bearer =
      /^Bearer ([A-Za-z0-9_-]+)$/i.exec(authorization ?? '')?.[1] ??
      (typeof body?.access_token === 'string' ? body.access_token : undefined);
    const claims = bearer ? await this.tokens.userinfo(bearer) : null;
    if (!claims) {
      throw new OAuthError('invalid_token', 'the access token is missing, expired or revoked', 401, {
        'WWW-Authenticate': 'Bearer error="invalid_token"',
      });
    }
    return claims;
  }
}
