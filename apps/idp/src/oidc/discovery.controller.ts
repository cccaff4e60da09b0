import { Controller, Get, Header, Inject } from '@nestjs/common';
import { CONFIG, type Config, KeysService } from '@signoff/core';
import { providerMetadata } from '@signoff/oidc';

@Controller()
export class DiscoveryController {
  constructor(
    private readonly keys: KeysService,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  @Get('.well-known/openid-configuration')
  @Header('Cache-Control', 'public, max-age=300')
  @Header('Access-Control-Allow-Origin', '*')
  metadata() {
    return providerMetadata(this.config.publicUrl, { registration: Boolean(this.config.oidc.registrationToken) });
  }

  /** Active, next and recently retired OIDC keys: tokens signed just before a rotation keep verifying. */
  @Get('oauth2/jwks')
  @Header('Cache-Control', 'public, max-age=300')
  @Header('Access-Control-Allow-Origin', '*')
  async jwks() {
    return { keys: (await this.keys.published('oidc')).map((key) => key.publicJwk) };
  }
}
