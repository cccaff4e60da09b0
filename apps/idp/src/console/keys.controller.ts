import { Controller, Get, HttpStatus, Inject, Post, Query, Res, UseFilters, UseGuards } from '@nestjs/common';
import { Clock, CONFIG, type Config, KeysService } from '@signoff/core';
import type { Response } from 'express';
import { signoffEndpoints } from '../admin/endpoints';
import { Admin, type ConsoleAdmin, ConsoleGuard, SignInFirst } from './console.guard';
import { keysPage, rotateKeysPage } from './keys.pages';

/** Fixed notices after a change: the URL names one, never carries its text. */
const NOTICES: Record<string, string> = {
  rotated: 'The keys were rotated: the former next keys sign now, and every set has a new next key.',
};

/** Signing keys per set, rotating them (asked first), and the addresses applications are configured with. */
@Controller('admin/keys')
@UseGuards(ConsoleGuard)
@UseFilters(SignInFirst)
export class ConsoleKeysController {
  constructor(
    private readonly keys: KeysService,
    private readonly clock: Clock,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  @Get()
  async list(@Admin() admin: ConsoleAdmin, @Query('done') done: unknown, @Res() res: Response): Promise<void> {
    const notice = typeof done === 'string' ? NOTICES[done] : undefined;
    res.type('html').send(
      keysPage(admin, {
        keys: await this.keys.list(),
        endpoints: signoffEndpoints(this.config),
        retiredPublishedMs: this.config.keys.retiredPublishedMs,
        notice,
      }),
    );
  }

  /** What a rotation does, with the keys it moves, before the button that does it. */
  @Get('rotate')
  async confirm(@Admin() admin: ConsoleAdmin, @Res() res: Response): Promise<void> {
    const retiredPublishedMs = this.config.keys.retiredPublishedMs;
    res.type('html').send(
      rotateKeysPage(admin, {
        keys: (await this.keys.list()).filter((key) => key.state !== 'retired'),
        retiredPublishedMs,
        retiredUntil: new Date(this.clock.now().getTime() + retiredPublishedMs),
      }),
    );
  }

  /** next → active → retired in every set, as `POST /api/v1/keys/rotate`; audited as `keys.rotated`. */
  @Post('rotate')
  async rotate(@Admin() admin: ConsoleAdmin, @Res() res: Response): Promise<void> {
    await this.keys.rotate(admin.actor);
    res.redirect(HttpStatus.SEE_OTHER, '/admin/keys?done=rotated');
  }
}
