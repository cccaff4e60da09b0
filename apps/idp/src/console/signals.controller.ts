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
import { CONFIG, type Config, type SsfSubjectFormat } from '@signoff/core';
import { type ReceiverInput, SsfReceiversService, metadataPathOf } from '@signoff/ssf';
import type { Response } from 'express';
import { schemas } from '../admin/schemas';
import { IdParam, JsonBody } from '../admin/validation';
import { Admin, type ConsoleAdmin, ConsoleGuard, SignInFirst } from './console.guard';
import { type FormBody, formProblem, problemStatus, text } from './forms';
import { newReceiverPage, receiverPage, receiverTokenPage, signalsPage } from './signals.pages';

/** Fixed notices after a change: the URL names one, never carries its text. */
const NOTICES: Record<string, string> = {
  deleted: 'The receiver was deleted: its token no longer works.',
};

// The form is checked by the admin API's own schema, so a refusal reads the same in both.
const receiverCreate = new JsonBody(schemas.SsfReceiverCreate);

/** Shared Signals receivers: register one (its token shown once), see its stream, give it a new token, delete it. */
@Controller('admin/signals')
@UseGuards(ConsoleGuard)
@UseFilters(SignInFirst)
export class ConsoleSignalsController {
  constructor(
    private readonly receivers: SsfReceiversService,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  @Get()
  async list(@Admin() admin: ConsoleAdmin, @Query() query: Record<string, unknown>, @Res() res: Response) {
    const notice = typeof query.done === 'string' ? NOTICES[query.done] : undefined;
    res.type('html').send(
      signalsPage(admin, {
        receivers: await this.receivers.list(),
        notice,
        metadataUrl: new URL(metadataPathOf(this.config.publicUrl), this.config.publicUrl).href,
      }),
    );
  }

  @Get('new')
  newReceiver(@Admin() admin: ConsoleAdmin, @Res() res: Response): void {
    res.type('html').send(newReceiverPage(admin, {}));
  }

  /** Registers the receiver and answers its token here, once: in no URL, and `no-store`. */
  @Post('new')
  async create(@Admin() admin: ConsoleAdmin, @Body() body: FormBody, @Res() res: Response): Promise<void> {
    const fields = {
      name: text(body, 'name') ?? '',
      slug: text(body, 'slug'),
      audience: text(body, 'audience'),
      subjectFormat: text(body, 'subjectFormat') ?? 'iss_sub',
    };
    try {
      const input: ReceiverInput = {
        name: fields.name,
        ...(fields.slug ? { slug: fields.slug } : {}),
        ...(fields.audience ? { audience: fields.audience } : {}),
        subjectFormat: fields.subjectFormat as SsfSubjectFormat,
      };
      receiverCreate.transform(input);
      const { receiver, token } = await this.receivers.create(input, admin.actor);
      this.sendToken(res, admin, receiver, token, false, HttpStatus.CREATED);
    } catch (error) {
      const problem = formProblem(error);
      if (!problem) throw error;
      res
        .status(problemStatus(error))
        .type('html')
        .send(newReceiverPage(admin, fields, problem));
    }
  }

  @Get(':id')
  async show(@Admin() admin: ConsoleAdmin, @Param('id', IdParam) id: string, @Res() res: Response): Promise<void> {
    res.type('html').send(receiverPage(admin, await this.receivers.get(id)));
  }

  @Post(':id/token')
  async rotateToken(
    @Admin() admin: ConsoleAdmin,
    @Param('id', IdParam) id: string,
    @Res() res: Response,
  ): Promise<void> {
    const { token } = await this.receivers.rotateToken(id, admin.actor);
    this.sendToken(res, admin, await this.receivers.get(id), token, true, HttpStatus.OK);
  }

  /** Deletes after the box was ticked; without it, the receiver's page again, saying so. */
  @Post(':id/delete')
  async remove(
    @Admin() admin: ConsoleAdmin,
    @Param('id', IdParam) id: string,
    @Body() body: FormBody,
    @Res() res: Response,
  ): Promise<void> {
    if (text(body, 'confirm') !== 'yes') {
      const problem = formProblem(
        new BadRequestException({
          message: 'The receiver was not deleted.',
          details: ['confirm: tick the box to delete it'],
        }),
      )!;
      res
        .status(HttpStatus.BAD_REQUEST)
        .type('html')
        .send(receiverPage(admin, await this.receivers.get(id), undefined, problem));
      return;
    }
    await this.receivers.remove(id, admin.actor);
    res.redirect(HttpStatus.SEE_OTHER, '/admin/signals?done=deleted');
  }

  private sendToken(
    res: Response,
    admin: ConsoleAdmin,
    receiver: Awaited<ReturnType<SsfReceiversService['get']>>,
    token: string,
    rotated: boolean,
    status: number,
  ): void {
    res.setHeader('Cache-Control', 'no-store');
    res
      .status(status)
      .type('html')
      .send(
        receiverTokenPage(admin, {
          receiver,
          token,
          rotated,
          configurationEndpoint: `${this.config.publicUrl}/ssf/streams`,
        }),
      );
  }
}
