import { Body, Controller, Delete, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import type { Actor, StageKind } from '@signoff/core';
import { FlowsService } from '@signoff/flows';
import { AdminActor, AdminGuard } from './admin.guard';
import { schemas } from './schemas';
import { IdParam, JsonBody } from './validation';

@Controller('api/v1')
@UseGuards(AdminGuard)
export class FlowsController {
  constructor(private readonly flows: FlowsService) {}

  @Get('flows')
  async list() {
    return { items: await this.flows.listFlows() };
  }

  @Post('flows')
  create(@Body(new JsonBody(schemas.FlowCreate)) body: { slug: string; name: string }, @AdminActor() actor: Actor) {
    return this.flows.createFlow(body, actor);
  }

  @Get('flows/:id')
  get(@Param('id', IdParam) id: string) {
    return this.flows.getFlow(id);
  }

  @Delete('flows/:id')
  @HttpCode(204)
  async remove(@Param('id', IdParam) id: string, @AdminActor() actor: Actor) {
    await this.flows.deleteFlow(id, actor);
  }

  @Post('flows/:id/bindings')
  bind(
    @Param('id', IdParam) id: string,
    @Body(new JsonBody(schemas.BindingCreate)) body: { stageId: string; order: number },
    @AdminActor() actor: Actor,
  ) {
    return this.flows.bind(id, body, actor);
  }

  @Delete('flows/:id/bindings/:bindingId')
  unbind(@Param('id', IdParam) id: string, @Param('bindingId', IdParam) bindingId: string, @AdminActor() actor: Actor) {
    return this.flows.unbind(id, bindingId, actor);
  }

  @Get('stages')
  async stages() {
    return { items: await this.flows.listStages() };
  }

  @Post('stages')
  createStage(
    @Body(new JsonBody(schemas.StageCreate)) body: { name: string; kind: StageKind; config?: Record<string, unknown> },
    @AdminActor() actor: Actor,
  ) {
    return this.flows.createStage(body, actor);
  }
}
