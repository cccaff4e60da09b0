import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Put, Query, UseGuards } from '@nestjs/common';
import type { Actor, StageKind } from '@signoff/core';
import { FlowsService } from '@signoff/flows';
import { AdminActor, AdminGuard } from './admin.guard';
import { schemas } from './schemas';
import { enumFilter, IdParam, JsonBody } from './validation';

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

  @Patch('flows/:id')
  rename(
    @Param('id', IdParam) id: string,
    @Body(new JsonBody(schemas.FlowUpdate)) body: { name?: string; slug?: string },
    @AdminActor() actor: Actor,
  ) {
    return this.flows.renameFlow(id, body, actor);
  }

  /** `force=true` deletes a flow applications run; they fall back to the default flow. Without it: 409 flow_in_use. */
  @Delete('flows/:id')
  @HttpCode(204)
  async remove(@Param('id', IdParam) id: string, @Query() query: Record<string, unknown>, @AdminActor() actor: Actor) {
    await this.flows.deleteFlow(id, actor, { force: enumFilter(query, 'force', ['true', 'false']) === 'true' });
  }

  @Post('flows/:id/bindings')
  bind(
    @Param('id', IdParam) id: string,
    @Body(new JsonBody(schemas.BindingCreate)) body: { stageId: string; order: number },
    @AdminActor() actor: Actor,
  ) {
    return this.flows.bind(id, body, actor);
  }

  /** The flow's stages in a new order: every binding id of the flow, once. */
  @Put('flows/:id/bindings')
  reorder(
    @Param('id', IdParam) id: string,
    @Body(new JsonBody(schemas.BindingOrder)) body: { order: string[] },
    @AdminActor() actor: Actor,
  ) {
    return this.flows.reorder(id, body.order, actor);
  }

  /** Taking out the logout stage of a flow applications run needs `confirm_ends_no_session=true` (see FlowsService.unbind). */
  @Delete('flows/:id/bindings/:bindingId')
  unbind(
    @Param('id', IdParam) id: string,
    @Param('bindingId', IdParam) bindingId: string,
    @Query() query: Record<string, unknown>,
    @AdminActor() actor: Actor,
  ) {
    const confirmEndsNoSession = enumFilter(query, 'confirm_ends_no_session', ['true', 'false']) === 'true';
    return this.flows.unbind(id, bindingId, actor, { confirmEndsNoSession });
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

  @Get('stages/:id')
  stage(@Param('id', IdParam) id: string) {
    return this.flows.getStage(id);
  }

  @Patch('stages/:id')
  updateStage(
    @Param('id', IdParam) id: string,
    @Body(new JsonBody(schemas.StageUpdate)) body: { name?: string; config?: Record<string, unknown> },
    @AdminActor() actor: Actor,
  ) {
    return this.flows.updateStage(id, body, actor);
  }

  /** Refused with 409 stage_in_use while a flow binds the stage. */
  @Delete('stages/:id')
  @HttpCode(204)
  async deleteStage(@Param('id', IdParam) id: string, @AdminActor() actor: Actor) {
    await this.flows.deleteStage(id, actor);
  }
}
