import {
  Body,
  Controller,
  Delete,
  Get,
  Header,
  Headers,
  HttpCode,
  Inject,
  NotFoundException,
  Param,
  Patch,
  Post,
  Put,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import { CONFIG, type Config, type SsfReceiver } from '@signoff/core';
import {
  metadataPathOf,
  SsfError,
  SsfPollService,
  SsfReceiversService,
  SsfStreamsService,
  transmitterMetadata,
} from '@signoff/ssf';
import type { Request, Response } from 'express';

/**
 * The Shared Signals transmitter's HTTP face (SSF 1.0 §7, §8; RFC 8936): its metadata, and the
 * endpoints a receiver calls with its bearer token (Authorization header only: RFC 6750 §2.1, never a
 * query parameter). Management answers are not cached (`no-store`).
 */
@Controller()
export class SsfController {
  constructor(
    private readonly receivers: SsfReceiversService,
    private readonly streams: SsfStreamsService,
    private readonly polls: SsfPollService,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  /** §7.2: the metadata, at the well-known path built from the issuer (§7.2.1). */
  @Get(['.well-known/ssf-configuration', '.well-known/ssf-configuration/*path'])
  metadata(@Req() req: Request) {
    if (req.path.replace(/\/+$/, '') !== metadataPathOf(this.config.publicUrl)) throw new NotFoundException();
    return transmitterMetadata(this.config.publicUrl);
  }

  @Post('ssf/streams')
  @Header('Cache-Control', 'no-store')
  async create(@Headers('authorization') authorization: string | undefined, @Body() body: unknown) {
    return this.streams.create(await this.receiver(authorization), body);
  }

  @Get('ssf/streams')
  @Header('Cache-Control', 'no-store')
  async read(@Headers('authorization') authorization: string | undefined, @Query('stream_id') streamId: unknown) {
    return this.streams.read(await this.receiver(authorization), queryText(streamId));
  }

  @Patch('ssf/streams')
  @Header('Cache-Control', 'no-store')
  async update(@Headers('authorization') authorization: string | undefined, @Body() body: unknown) {
    return this.streams.update(await this.receiver(authorization), body, false);
  }

  @Put('ssf/streams')
  @Header('Cache-Control', 'no-store')
  async replace(@Headers('authorization') authorization: string | undefined, @Body() body: unknown) {
    return this.streams.update(await this.receiver(authorization), body, true);
  }

  @Delete('ssf/streams')
  @HttpCode(204)
  async delete(@Headers('authorization') authorization: string | undefined, @Query('stream_id') streamId: unknown) {
    await this.streams.delete(await this.receiver(authorization), queryText(streamId));
  }

  @Get('ssf/streams/status')
  @Header('Cache-Control', 'no-store')
  async status(@Headers('authorization') authorization: string | undefined, @Query('stream_id') streamId: unknown) {
    return this.streams.status(await this.receiver(authorization), queryText(streamId));
  }

  @Post('ssf/streams/status')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  async updateStatus(@Headers('authorization') authorization: string | undefined, @Body() body: unknown) {
    return this.streams.updateStatus(await this.receiver(authorization), body);
  }

  /** §8.1.3.2: an empty 200. */
  @Post('ssf/subjects/add')
  @HttpCode(200)
  async addSubject(@Headers('authorization') authorization: string | undefined, @Body() body: unknown): Promise<void> {
    await this.streams.changeSubject(await this.receiver(authorization), body, 'add');
  }

  @Post('ssf/subjects/remove')
  @HttpCode(204)
  async removeSubject(
    @Headers('authorization') authorization: string | undefined,
    @Body() body: unknown,
  ): Promise<void> {
    await this.streams.changeSubject(await this.receiver(authorization), body, 'remove');
  }

  @Post('ssf/verify')
  @HttpCode(204)
  async verify(@Headers('authorization') authorization: string | undefined, @Body() body: unknown): Promise<void> {
    await this.streams.verify(await this.receiver(authorization), body);
  }

  /** RFC 8936 §2: the poll endpoint of one stream (its delivery.endpoint_url). */
  @Post('ssf/poll/:streamId')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  async poll(
    @Headers('authorization') authorization: string | undefined,
    @Param('streamId') streamId: string,
    @Body() body: unknown,
    @Res({ passthrough: true }) res: Response,
  ) {
    const receiver = await this.receiver(authorization);
    let gone = false;
    res.once('close', () => (gone = true));
    return this.polls.poll(receiver, streamId, body, () => gone);
  }

  /**
   * The receiver the bearer token belongs to (RFC 6750 §3.1: a bare challenge without credentials,
   * invalid_token with a bad one; RFC 8936 §3 asks the poll endpoint for the challenge too).
   */
  private async receiver(authorization: string | undefined): Promise<SsfReceiver> {
    if (authorization === undefined)
      throw new SsfError('invalid_request', "send the receiver's token as a Bearer token", 401, {
        'WWW-Authenticate': 'Bearer',
      });
    const token = /^Bearer ([A-Za-z0-9_-]{16,128})$/i.exec(authorization)?.[1];
    const receiver = token ? await this.receivers.authenticate(token) : null;
    if (!receiver)
      throw new SsfError('invalid_token', 'the token is invalid, or its receiver was deleted', 401, {
        'WWW-Authenticate': 'Bearer error="invalid_token"',
      });
    return receiver;
  }
}

/** A query parameter given once, as text; anything else is as if it were absent (SSF says what that means). */
function queryText(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
