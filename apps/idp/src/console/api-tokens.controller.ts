import {
  BadRequestException,
  Body,
  Controller,
  Get,
  HttpStatus,
  Inject,
  Param,
  Post,
  Query,
  Res,
  UseFilters,
  UseGuards,
} from '@nestjs/common';
import { Clock, CONFIG, type Config } from '@signoff/core';
import type { Response } from 'express';
import { type ApiTokenRequest, ApiTokensService } from '../admin/api-tokens.service';
import { schemas } from '../admin/schemas';
import { IdParam, JsonBody, pageOf } from '../admin/validation';
import { apiTokenCreatedPage, apiTokensPage, newApiTokenPage, TOKEN_DAYS, TOKEN_SCOPES } from './api-tokens.pages';
import { Admin, type ConsoleAdmin, ConsoleGuard, SignInFirst } from './console.guard';
import { type FormBody, formProblem, problemStatus, text } from './forms';

/** Fixed notices after a change: the URL names one, never carries its text. */
const NOTICES: Record<string, string> = {
  revoked: 'The token was revoked: its next request is refused.',
};

// The form is checked by the admin API's own schema (the name), after the console's bounds on the lifetime.
const tokenCreate = new JsonBody(schemas.ApiTokenCreate);

/**
 * The form's fields as the admin API takes them (`expiresIn` in days), or a 400 naming each bad field.
 * The console asks for a lifetime in days, within TOKEN_DAYS: a token that never expires is for the CLI.
 */
function tokenRequestOf(fields: { name: string; days: string; scope: string }): ApiTokenRequest {
  const details: string[] = [];
  const days = /^\d{1,4}$/.test(fields.days) ? Number(fields.days) : NaN;
  if (!(days >= TOKEN_DAYS.min && days <= TOKEN_DAYS.max))
    details.push(`days: must be a whole number of days from ${TOKEN_DAYS.min} to ${TOKEN_DAYS.max}`);
  const scope = TOKEN_SCOPES.find(([key]) => key === fields.scope)?.[0];
  if (!scope) details.push('scope: choose what the token may do');
  const request = {
    name: fields.name,
    expiresIn: `${Number.isNaN(days) ? TOKEN_DAYS.default : days}d`,
    scopes: [scope ?? 'admin'],
  };
  try {
    tokenCreate.transform(request);
  } catch (error) {
    details.push(...(formProblem(error)?.details ?? []));
  }
  if (details.length) throw new BadRequestException({ message: 'The token was not created.', details });
  return request;
}

/** API tokens: every administrator's, newest first; make one (shown once) and revoke any. */
@Controller('admin/api-tokens')
@UseGuards(ConsoleGuard)
@UseFilters(SignInFirst)
export class ConsoleApiTokensController {
  constructor(
    private readonly tokens: ApiTokensService,
    private readonly clock: Clock,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  @Get()
  async list(
    @Admin() admin: ConsoleAdmin,
    @Query() query: Record<string, unknown>,
    @Res() res: Response,
  ): Promise<void> {
    const page = pageOf(query);
    const notice = typeof query.done === 'string' ? NOTICES[query.done] : undefined;
    const { items, total } = await this.tokens.list(page);
    res.type('html').send(apiTokensPage(admin, { items, total, ...page, now: this.clock.now(), notice }));
  }

  @Get('new')
  newToken(@Admin() admin: ConsoleAdmin, @Res() res: Response): void {
    res.type('html').send(newApiTokenPage(admin, {}));
  }

  /**
   * Makes a token for the signed-in administrator and answers it here, once: no redirect, so it is in
   * no URL and no history entry to come back to, and `no-store` keeps it out of every cache.
   */
  @Post('new')
  async create(@Admin() admin: ConsoleAdmin, @Body() body: FormBody, @Res() res: Response): Promise<void> {
    const fields = {
      name: text(body, 'name') ?? '',
      days: text(body, 'days') ?? '',
      scope: text(body, 'scope') ?? '',
    };
    try {
      const { token, record } = await this.tokens.createFor(admin.user, tokenRequestOf(fields), admin.actor);
      res.setHeader('Cache-Control', 'no-store');
      res
        .status(HttpStatus.CREATED)
        .type('html')
        .send(
          apiTokenCreatedPage(admin, {
            token,
            record,
            apiBase: `${this.config.publicUrl}/api/v1`,
            revocationEndpoint: `${this.config.publicUrl}/oauth2/global-token-revocation`,
          }),
        );
    } catch (error) {
      const problem = formProblem(error);
      if (!problem) throw error;
      res
        .status(problemStatus(error))
        .type('html')
        .send(newApiTokenPage(admin, fields, problem));
    }
  }

  @Post(':id/revoke')
  async revoke(@Admin() admin: ConsoleAdmin, @Param('id', IdParam) id: string, @Res() res: Response): Promise<void> {
    await this.tokens.revoke(id, admin.actor);
    res.redirect(HttpStatus.SEE_OTHER, '/admin/api-tokens?done=revoked');
  }
}
