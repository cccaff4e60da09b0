import { Injectable } from '@nestjs/common';
import {
  type Actor,
  AuditService,
  Clock,
  DEFAULT_FLOWS,
  Flow,
  FlowStageBinding,
  newId,
  SignoffError,
  Stage,
  type StageKind,
} from '@signoff/core';
import { DataSource } from 'typeorm';

export const STAGE_KINDS: StageKind[] = ['user_logout', 'provider_logout', 'confirm', 'redirect', 'message'];
/** The stages that end sessions. */
const LOGOUT_STAGES: StageKind[] = ['user_logout', 'provider_logout'];

export interface FlowView {
  id: string;
  slug: string;
  name: string;
  stages: Array<{ bindingId: string; order: number; stage: Stage }>;
}

/** Administration of flows, stages and their bindings. */
@Injectable()
export class FlowsService {
  constructor(
    private readonly db: DataSource,
    private readonly clock: Clock,
    private readonly audit: AuditService,
  ) {}

  async listFlows(): Promise<FlowView[]> {
    const flows = await this.db.getRepository(Flow).find({ order: { slug: 'ASC' } });
    return Promise.all(flows.map((flow) => this.view(flow)));
  }

  async getFlow(id: string): Promise<FlowView> {
    const flow = await this.db.getRepository(Flow).findOneBy({ id });
    if (!flow) throw new SignoffError('not_found', 'No such flow.');
    return this.view(flow);
  }

  async createFlow(input: { slug: string; name: string }, actor: Actor): Promise<FlowView> {
    if (await this.db.getRepository(Flow).existsBy({ slug: input.slug }))
      throw new SignoffError('conflict', `a flow "${input.slug}" already exists`);
    const flow = await this.db
      .getRepository(Flow)
      .save({ id: newId(), slug: input.slug, name: input.name, createdAt: this.clock.now() });
    await this.audit.record({
      action: 'flow.created',
      actor,
      target: { type: 'flow', id: flow.id },
      details: { slug: flow.slug },
    });
    return this.view(flow);
  }

  async deleteFlow(id: string, actor: Actor): Promise<void> {
    if (Object.values(DEFAULT_FLOWS).includes(id))
      throw new SignoffError('invalid_request', 'The default flows cannot be deleted.');
    await this.getFlow(id);
    await this.db.getRepository(Flow).delete({ id });
    await this.audit.record({ action: 'flow.deleted', actor, target: { type: 'flow', id } });
  }

  async listStages(): Promise<Stage[]> {
    return this.db.getRepository(Stage).find({ order: { name: 'ASC' } });
  }

  async createStage(
    input: { name: string; kind: StageKind; config?: Record<string, unknown> },
    actor: Actor,
  ): Promise<Stage> {
    if (await this.db.getRepository(Stage).existsBy({ name: input.name }))
      throw new SignoffError('conflict', `a stage "${input.name}" already exists`);
    const config = input.config ?? {};
    if (input.kind === 'redirect' && !isHttpUrl(config.url))
      throw new SignoffError('invalid_request', 'A redirect stage needs config.url, an absolute http(s) URL.');
    if (
      (input.kind === 'confirm' || input.kind === 'message') &&
      config.text !== undefined &&
      typeof config.text !== 'string'
    ) {
      throw new SignoffError('invalid_request', 'config.text must be a string.');
    }
    const stage = await this.db
      .getRepository(Stage)
      .save({ id: newId(), name: input.name, kind: input.kind, config, createdAt: this.clock.now() });
    await this.audit.record({
      action: 'stage.created',
      actor,
      target: { type: 'stage', id: stage.id },
      details: { name: stage.name, kind: stage.kind },
    });
    return stage;
  }

  async bind(flowId: string, input: { stageId: string; order: number }, actor: Actor): Promise<FlowView> {
    const flow = await this.getFlow(flowId);
    const stage = await this.db.getRepository(Stage).findOneBy({ id: input.stageId });
    if (!stage) throw new SignoffError('invalid_request', 'No such stage.');
    // One logout per flow: the browser is walked through one operation's front channel, and the
    // initiator answered from one outcome. user_logout already ends what provider_logout would.
    if (LOGOUT_STAGES.includes(stage.kind) && flow.stages.some((bound) => LOGOUT_STAGES.includes(bound.stage.kind))) {
      throw new SignoffError(
        'conflict',
        'the flow already has a logout stage (user_logout or provider_logout); a flow ends sessions once',
      );
    }
    if (await this.db.getRepository(FlowStageBinding).existsBy({ flowId, order: input.order })) {
      throw new SignoffError('conflict', `the flow already has a stage at order ${input.order}`);
    }
    await this.db
      .getRepository(FlowStageBinding)
      .save({ id: newId(), flowId, stageId: input.stageId, order: input.order });
    await this.audit.record({
      action: 'flow.stage_bound',
      actor,
      target: { type: 'flow', id: flowId },
      details: input,
    });
    return this.getFlow(flowId);
  }

  async unbind(flowId: string, bindingId: string, actor: Actor): Promise<FlowView> {
    const result = await this.db.getRepository(FlowStageBinding).delete({ id: bindingId, flowId });
    if (!result.affected) throw new SignoffError('not_found', 'No such binding in this flow.');
    await this.audit.record({
      action: 'flow.stage_unbound',
      actor,
      target: { type: 'flow', id: flowId },
      details: { bindingId },
    });
    return this.getFlow(flowId);
  }

  private async view(flow: Flow): Promise<FlowView> {
    const bindings = await this.db
      .getRepository(FlowStageBinding)
      .find({ where: { flowId: flow.id }, relations: { stage: true }, order: { order: 'ASC' } });
    return {
      id: flow.id,
      slug: flow.slug,
      name: flow.name,
      stages: bindings.map((binding) => ({ bindingId: binding.id, order: binding.order, stage: binding.stage })),
    };
  }
}

function isHttpUrl(value: unknown): boolean {
  try {
    return typeof value === 'string' && ['http:', 'https:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}
