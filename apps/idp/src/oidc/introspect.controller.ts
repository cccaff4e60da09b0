import { Body, Controller, Headers, HttpCode, Post } from '@nestjs/common';
import { OidcClientsService, TokensService } from '@signoff/oidc';

/** Token introspection (RFC 7662) for resource servers registered as confidential clients: `{active: false}` for any token that is not good. */
@Controller('oauth2/introspect')
export class IntrospectController {
  constructor(
    private readonly clients: OidcClientsService,
    private readonly tokens: TokensService,
  ) {}

  @Post()
  @HttpCode(200)
  async introspect(@Body() body: Record<string, unknown>, @Headers('authorization') authorization: string | undefined) {
    const client = await this.clients.authenticate({ authorization, body, endpoint: 'introspection' });
    return this.tokens.introspect(client, body.token, body.token_type_hint);
  }
}
