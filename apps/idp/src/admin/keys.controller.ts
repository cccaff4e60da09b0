import { Controller, Get, HttpCode, Inject, Post, UseGuards } from '@nestjs/common';
import { type Actor, CONFIG, type Config, KeysService } from '@signoff/core';
import { AdminActor, AdminGuard } from './admin.guard';
import { signoffEndpoints } from './endpoints';

/** Signing keys (never their key material) and the addresses peers configure Signoff with. */
@Controller('api/v1')
@UseGuards(AdminGuard)
export class KeysController {
  constructor(
    private readonly keys: KeysService,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  @Get('keys')
  async list() {
    return { items: await this.keys.list() };
  }

  /** next → active → retired in every key set (as `npm run signoff -- rotate-keys`); audited as `keys.rotated`. */
  @Post('keys/rotate')
  @HttpCode(200)
  async rotate(@AdminActor() actor: Actor) {
    return { rotated: await this.keys.rotate(actor), items: await this.keys.list() };
  }

  /** What relying parties and SPs are given to trust Signoff: the discovery document, the JWKS, the SAML metadata. */
  @Get('endpoints')
  endpoints() {
    return signoffEndpoints(this.config);
  }
}
