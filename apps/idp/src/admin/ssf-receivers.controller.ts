import { Body, Controller, Delete, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import type { Actor } from '@signoff/core';
import { type ReceiverInput, SsfReceiversService } from '@signoff/ssf';
import { AdminActor, AdminGuard } from './admin.guard';
import { schemas } from './schemas';
import { IdParam, JsonBody } from './validation';

/**
 * Shared Signals receivers (docs/shared-signals.md): an administrator registers one, hands it the
 * token (shown once), and the receiver manages its stream itself at /ssf/streams.
 */
@Controller('api/v1/ssf/receivers')
@UseGuards(AdminGuard)
export class SsfReceiversController {
  constructor(private readonly receivers: SsfReceiversService) {}

  @Get()
  async list() {
    return { items: await this.receivers.list() };
  }

  @Post()
  create(@Body(new JsonBody(schemas.SsfReceiverCreate)) body: ReceiverInput, @AdminActor() actor: Actor) {
    return this.receivers.create(body, actor);
  }

  @Get(':id')
  get(@Param('id', IdParam) id: string) {
    return this.receivers.get(id);
  }

  @Post(':id/token')
  @HttpCode(200)
  rotateToken(@Param('id', IdParam) id: string, @AdminActor() actor: Actor) {
    return this.receivers.rotateToken(id, actor);
  }

  @Delete(':id')
  @HttpCode(204)
  async remove(@Param('id', IdParam) id: string, @AdminActor() actor: Actor): Promise<void> {
    await this.receivers.remove(id, actor);
  }
}
