import { Body, Controller, Headers, HttpCode, Post, Res } from '@nestjs/common';
import { OAuthError, OidcClientsService, TokensService } from '@signoff/oidc';
import type { Response } from 'express';

/** The token endpoint (OIDC Core 3.1.3): authorization_code and refresh_token grants. */
@Controller('oauth2/token')
export class TokenController {
  constructor(
    private readonly clients: OidcClientsService,
    private readonly tokens: TokensService,
  ) {}

  @Post()
  @HttpCode(200)
  async token(
    @Body() body: Record<string, unknown>,
    @Headers('authorization') authorization: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ) {
    res.setHeader('Pragma', 'no-cache');
    const client = await this.clients.authenticate({ authorization, body, endpoint: 'token' });
    switch (body.grant_type) {
      case 'authorization_code':
        return this.tokens.exchangeCode(client, body);
      case 'refresh_token':
        if (!client.grantTypes.includes('refresh_token'))
          throw new OAuthError('unauthorized_client', 'this client may not use refresh tokens');
        return this.tokens.refresh(client, body);
      default:
        throw new OAuthError(
          body.grant_type ? 'unsupported_grant_type' : 'invalid_request',
          'grant_type must be authorization_code or refresh_token',
        );
    }
  }
}
