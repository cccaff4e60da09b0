import { Body, Controller, Headers, Inject, NotFoundException, Post } from '@nestjs/common';
import { CONFIG, type Config, safeEqual } from '@signoff/core';
import { ClientMetadataError, OAuthError, OidcClientsService } from '@signoff/oidc';

/** RFC 7591 dynamic registration; on only when OIDC_REGISTRATION_TOKEN is set, and only with it as the bearer. */
@Controller('oauth2/register')
export class RegisterController {
  constructor(
    private readonly clients: OidcClientsService,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  @Post()
  async register(@Body() body: unknown, @Headers('authorization') authorization: string | undefined) {
    const expected = this.config.oidc.registrationToken;
    if (!expected) throw new NotFoundException('Dynamic client registration is not enabled.');
    const given = /^Bearer (.+)$/i.exec(authorization ?? '')?.[1] ?? '';
    if (!safeEqual(given, expected)) {
      throw new OAuthError('invalid_token', 'an initial access token is required', 401, {
        'WWW-Authenticate': 'Bearer error="invalid_token"',
      });
    }
    let metadata;
    try {
      metadata = this.clients.parse(body);
    } catch (error) {
      if (error instanceof ClientMetadataError) throw new OAuthError(error.error, error.description);
      throw error;
    }
    // A client that registered itself is a third party: its users are asked before it gets a code.
    // The client_id is always random here; only an administrator chooses one.
    const { client, clientSecret } = await this.clients.register(
      metadata,
      { consentRequired: true },
      { type: 'system', id: 'dynamic-registration' },
    );
    return {
      ...this.clients.metadataOf(client),
      client_id_issued_at: Math.floor(client.provider.createdAt.getTime() / 1000),
      ...(clientSecret ? { client_secret: clientSecret, client_secret_expires_at: 0 } : {}),
    };
  }
}
