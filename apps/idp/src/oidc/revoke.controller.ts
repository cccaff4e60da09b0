import { Body, Controller, Headers, HttpCode, Post } from '@nestjs/common';
import { OidcClientsService, TokensService } from '@signoff/oidc';

/** Token revocation (RFC 7009): 200 whether or not the token was known. */
@Controller('oauth2/revoke')
export class RevokeController {
  constructor(
    private readonly clients: OidcClientsService,
    private readonly tokens: TokensService,
  ) {}

  @Post()
  @HttpCode(200)
  async revoke(@Body() body: Record<string, unknown>, @Headers('authorization') authorization: string | undefined) {
    const client = await this.clients.authenticate({ authorization, body, endpoint: 'revocation' });
    await this.tokens.revoke(client, body.token);
    return {};
  }
}
