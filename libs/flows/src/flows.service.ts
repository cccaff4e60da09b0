import { Injectable } from '@nestjs/common';
import {
  type Actor,
  AuditService,
  Clock,
  DEFAULT_FLOWS,
  Flow,
  FlowStageBinding,
  newId,
  Provider,
  serialize,
  SignoffError,
  Stage,
  type StageKind,
} from '@signoff/core';
import { DataSource, type EntityManager, IsNull } from 'typeorm';

export const STAGE_KINDS: StageKind[] = ['user_logout', 'provider_logout', 'confirm', 'redirect', 'message'];
/** The stages that end sessions. */
const LOGOUT_STAGES: StageKind[] = ['user_logout', 'provider_logout'];
/** Flow slugs and stage names: what the admin API's schemas allow, checked here too for the console and the CLI. */
const SLUG = /^[a-z0-9][a-z0-9-]{0,63}$/;
const MAX_NAME = 200;

export interface FlowView {
  id: string;
  slug: string;
  name: string;
  /** One of the two built-in flows (default-invalidation-flow, default-provider-invalidation-flow): they cannot be deleted. */
  isDefault: boolean;
  stages: Array<{ bindingId: string; order: number; stage: Stage }>;
  /** No user_logout or provider_logout stage: running the flow signs nobody out (see flowProblems). */
  endsNoSession: boolean;
  /** What an administrator should know about the flow as it stands (flowProblems), in plain words; empty when nothing. */
  warnings: string[];
}

/** An application, as a flow's administration names it (the applications that run a flow). */
export interface BoundProvider {
  id: string;
  slug: string;
  name: string;
}

/** A flow, as a stage's administration names it (the flows that bind a stage). */
export interface BindingFlow {
  id: string;
  slug: string;
  name: string;
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
    // The admin API's schema says the same; the console and the CLI come through here only.
    const problems = [
      ...nameProblems('name', input.name),
      ...(SLUG.test(input.slug)
        ? []
        : ['slug: 1–64 lower-case letters, digits and "-", starting with a letter or digit']),
    ];
    if (problems.length) throw new SignoffError('invalid_request', 'The flow cannot be created so.', problems);
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

  /**
   * Changes a flow's name and/or slug. The slug stays unique (`conflict`); the built-in flows keep
   * theirs (documentation and deployments name them), though their name may change. Audited as
   * `flow.renamed` with the old and new values.
   */
  async renameFlow(id: string, input: { name?: string; slug?: string }, actor: Actor): Promise<FlowView> {
    const problems = [
      ...(input.name === undefined ? [] : nameProblems('name', input.name)),
      ...(input.slug === undefined || SLUG.test(input.slug)
        ? []
        : ['slug: 1–64 lower-case letters, digits and "-", starting with a letter or digit']),
    ];
    if (input.name === undefined && input.slug === undefined) problems.push('body: give name, slug or both');
    if (problems.length) throw new SignoffError('invalid_request', 'The flow cannot be renamed so.', problems);
    const { before, after } = await this.db.transaction(async (tx) => {
      const flow = await tx.findOneBy(Flow, { id });
      if (!flow) throw new SignoffError('not_found', 'No such flow.');
      const changes: Partial<Flow> = {};
      if (input.name !== undefined && input.name !== flow.name) changes.name = input.name;
      if (input.slug !== undefined && input.slug !== flow.slug) {
        if (isDefault(id))
          throw new SignoffError('invalid_request', `The slug of a default flow cannot change (it is "${flow.slug}").`);
        if (await tx.existsBy(Flow, { slug: input.slug }))
          throw new SignoffError('conflict', `a flow "${input.slug}" already exists`);
        changes.slug = input.slug;
      }
      if (Object.keys(changes).length) await tx.update(Flow, { id }, changes);
      return { before: flow, after: { ...flow, ...changes } };
    });
    if (before.name !== after.name || before.slug !== after.slug)
      await this.audit.record({
        action: 'flow.renamed',
        actor,
        target: { type: 'flow', id },
        details: { from: { slug: before.slug, name: before.name }, to: { slug: after.slug, name: after.name } },
      });
    return this.view(after);
  }

  /**
   * Deletes a flow. The default flows cannot be deleted (`invalid_request`). A flow applications run
   * is refused with `flow_in_use` (409, `details.applications`: which) unless `force`: then, in the
   * same transaction, those applications fall back to the default flow (invalidationFlowId null) and
   * each is audited as `provider.updated`. Answers the applications that fell back.
   */
  async deleteFlow(
    id: string,
    actor: Actor,
    options: { force?: boolean } = {},
  ): Promise<{ fellBack: BoundProvider[] }> {
    if (isDefault(id)) throw new SignoffError('invalid_request', 'The default flows cannot be deleted.');
    return this.db.transaction(async (tx) => {
      const flow = await tx.findOneBy(Flow, { id });
      if (!flow) throw new SignoffError('not_found', 'No such flow.');
      const bound = await this.boundProviders(id, tx);
      if (bound.length && !options.force)
        throw new SignoffError(
          'flow_in_use',
          `${bound.length === 1 ? 'One application runs' : `${bound.length} applications run`} this flow (${bound
            .map((provider) => provider.name)
            .join(', ')}). Delete it with force to make them fall back to the default flow.`,
          { applications: bound },
        );
      // Every row naming the flow, deleted applications' tombstones included (the FK would null them anyway).
      await tx.update(Provider, { invalidationFlowId: id }, { invalidationFlowId: null, updatedAt: this.clock.now() });
      for (const provider of bound)
        await this.audit.record(
          {
            action: 'provider.updated',
            actor,
            target: { type: 'provider', id: provider.id },
            details: { changed: ['invalidationFlowId'], because: 'flow.deleted', flowId: id },
          },
          tx,
        );
      await tx.delete(Flow, { id });
      await this.audit.record(
        {
          action: 'flow.deleted',
          actor,
          target: { type: 'flow', id },
          details: { slug: flow.slug, fellBack: bound.map((provider) => provider.slug) },
        },
        tx,
      );
      return { fellBack: bound };
    });
  }

  /** The applications that run this flow when they start a logout (invalidationFlowId), by slug. Deleted ones (tombstones) are left out. */
  async boundProviders(flowId: string, tx: EntityManager = this.db.manager): Promise<BoundProvider[]> {
    const rows = await tx.find(Provider, {
      where: { invalidationFlowId: flowId, deletedAt: IsNull() },
      select: { id: true, slug: true, name: true },
      order: { slug: 'ASC' },
    });
    return rows.map(({ id, slug, name }) => ({ id, slug, name }));
  }

  /**
   * What an administrator should know about a flow, in plain words (FlowView.warnings). Today: a flow
   * with no user_logout and no provider_logout stage ends no session, so an application whose logout
   * runs it signs nobody out (its users stay signed in there and everywhere else).
   */
  flowProblems(flow: Pick<FlowView, 'stages'>): string[] {
    return endsNoSession(flow)
      ? [
          'This flow has no user_logout or provider_logout stage, so it ends no session: a logout that runs it signs nobody out.',
        ]
      : [];
  }

  async listStages(): Promise<Stage[]> {
    return this.db.getRepository(Stage).find({ order: { name: 'ASC' } });
  }

  async getStage(id: string): Promise<Stage> {
    const stage = await this.db.getRepository(Stage).findOneBy({ id });
    if (!stage) throw new SignoffError('not_found', 'No such stage.');
    return stage;
  }

  async createStage(
    input: { name: string; kind: StageKind; config?: Record<string, unknown> },
    actor: Actor,
  ): Promise<Stage> {
    const problems = [
      ...nameProblems('name', input.name),
      ...(STAGE_KINDS.includes(input.kind) ? [] : [`kind: one of ${STAGE_KINDS.join(', ')}`]),
    ];
    if (problems.length) throw new SignoffError('invalid_request', 'The stage cannot be created so.', problems);
    if (await this.db.getRepository(Stage).existsBy({ name: input.name }))
      throw new SignoffError('conflict', `a stage "${input.name}" already exists`);
    const config = input.config ?? {};
    checkStageConfig(input.kind, config);
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

  /**
   * Changes a stage's name and/or config (the whole new config, checked as createStage checks it for
   * the stage's kind); the kind cannot change: make a new stage instead. Every flow binding the stage
   * runs the change from its next logout. Audited as `stage.updated` with the names of what changed.
   */
  async updateStage(
    id: string,
    input: { name?: string; config?: Record<string, unknown> },
    actor: Actor,
  ): Promise<Stage> {
    if (input.name === undefined && input.config === undefined)
      throw new SignoffError('invalid_request', 'Give name, config or both.');
    if (input.name !== undefined && !SLUG.test(input.name))
      throw new SignoffError(
        'invalid_request',
        'name: 1–64 lower-case letters, digits and "-", starting with a letter or digit.',
      );
    const stage = await this.db.transaction(async (tx) => {
      const current = await tx.findOneBy(Stage, { id });
      if (!current) throw new SignoffError('not_found', 'No such stage.');
      if (input.config !== undefined) checkStageConfig(current.kind, input.config);
      if (input.name !== undefined && input.name !== current.name && (await tx.existsBy(Stage, { name: input.name })))
        throw new SignoffError('conflict', `a stage "${input.name}" already exists`);
      const changes = {
        ...(input.name !== undefined ? { name: input.name } : {}),
        ...(input.config !== undefined ? { config: input.config } : {}),
      };
      await tx.save(Stage, { ...current, ...changes });
      await this.audit.record(
        {
          action: 'stage.updated',
          actor,
          target: { type: 'stage', id },
          details: { changed: Object.keys(changes) },
        },
        tx,
      );
      return { ...current, ...changes };
    });
    return stage;
  }

  /**
   * Deletes a stage no flow binds. While any does, refuses with `stage_in_use` (409) naming the
   * flows (`details.flows`): deleting it would silently take a step out of them (the binding rows
   * cascade). Audited as `stage.deleted`.
   */
  async deleteStage(id: string, actor: Actor): Promise<void> {
    await this.db.transaction(async (tx) => {
      const stage = await tx.findOneBy(Stage, { id });
      if (!stage) throw new SignoffError('not_found', 'No such stage.');
      const bindings = await tx.find(FlowStageBinding, { where: { stageId: id }, relations: { flow: true } });
      const flows: BindingFlow[] = [...new Map(bindings.map((binding) => [binding.flow.id, binding.flow])).values()]
        .map(({ id: flowId, slug, name }) => ({ id: flowId, slug, name }))
        .sort((a, b) => a.slug.localeCompare(b.slug));
      if (flows.length)
        throw new SignoffError(
          'stage_in_use',
          `The stage "${stage.name}" is part of ${flows.map((flow) => `"${flow.slug}"`).join(', ')}: remove it from ${
            flows.length === 1 ? 'that flow' : 'those flows'
          } first.`,
          { flows },
        );
      await tx.delete(Stage, { id });
      await this.audit.record(
        {
          action: 'stage.deleted',
          actor,
          target: { type: 'stage', id },
          details: { name: stage.name, kind: stage.kind },
        },
        tx,
      );
    });
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

  /**
   * Takes a stage out of a flow. Taking out its logout stage (user_logout or provider_logout) leaves
   * a flow that signs nobody out: refused for the default flows, which every logout at Signoff and
   * every application without a flow of its own runs; for a flow applications run, refused
   * (`flow_ends_no_session`, 409, naming them) unless `confirmEndsNoSession` — the same question as
   * binding such a flow to an application (ProvidersAdminService).
   */
  async unbind(
    flowId: string,
    bindingId: string,
    actor: Actor,
    options: { confirmEndsNoSession?: boolean } = {},
  ): Promise<FlowView> {
    const flow = await this.getFlow(flowId);
    const removed = flow.stages.find((bound) => bound.bindingId === bindingId);
    if (!removed) throw new SignoffError('not_found', 'No such binding in this flow.');
    if (LOGOUT_STAGES.includes(removed.stage.kind)) {
      if (flow.isDefault)
        throw new SignoffError(
          'flow_ends_no_session',
          `${flow.slug} must keep its logout stage: without it, logging out would sign nobody out.`,
        );
      const applications = await this.boundProviders(flowId);
      if (applications.length && !options.confirmEndsNoSession)
        throw new SignoffError(
          'flow_ends_no_session',
          `Without its logout stage, ${flow.slug} signs nobody out, and ${applications.length} application(s) run it; confirm to take it out.`,
          { applications },
        );
    }
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

  /**
   * Puts a flow's stages in a new order: `bindingIds` names every binding of the flow exactly once
   * (else `invalid_request`, with each id missing, foreign or repeated in `details`). The flow keeps
   * its order numbers, handed out in the new sequence, in one transaction: a logout never sees half
   * a reorder. Audited as `flow.reordered`.
   */
  async reorder(flowId: string, bindingIds: string[], actor: Actor): Promise<FlowView> {
    await this.db.transaction(async (tx) => {
      await serialize(tx, `flow:${flowId}`);
      if (!(await tx.existsBy(Flow, { id: flowId }))) throw new SignoffError('not_found', 'No such flow.');
      const bindings = await tx.find(FlowStageBinding, { where: { flowId }, order: { order: 'ASC' } });
      const known = new Set(bindings.map((binding) => binding.id));
      const seen = new Set<string>();
      const problems: string[] = [];
      for (const id of bindingIds) {
        if (seen.has(id)) problems.push(`${id}: named twice`);
        else if (!known.has(id)) problems.push(`${id}: not a binding of this flow`);
        seen.add(id);
      }
      for (const binding of bindings)
        if (!seen.has(binding.id)) problems.push(`${binding.id}: missing (every binding of the flow, once)`);
      if (problems.length)
        throw new SignoffError('invalid_request', "The order must name each of the flow's bindings once.", problems);
      const orders = bindings.map((binding) => binding.order);
      // (flow_id, order) is unique: move every row out of the way first, then into place.
      for (const [index, id] of bindingIds.entries())
        await tx.update(FlowStageBinding, { id, flowId }, { order: -1 - index });
      for (const [index, id] of bindingIds.entries())
        await tx.update(FlowStageBinding, { id, flowId }, { order: orders[index] });
      await this.audit.record(
        { action: 'flow.reordered', actor, target: { type: 'flow', id: flowId }, details: { order: bindingIds } },
        tx,
      );
    });
    return this.getFlow(flowId);
  }

  private async view(flow: Flow): Promise<FlowView> {
    const bindings = await this.db
      .getRepository(FlowStageBinding)
      .find({ where: { flowId: flow.id }, relations: { stage: true }, order: { order: 'ASC' } });
    const stages = bindings.map((binding) => ({ bindingId: binding.id, order: binding.order, stage: binding.stage }));
    return {
      id: flow.id,
      slug: flow.slug,
      name: flow.name,
      isDefault: isDefault(flow.id),
      stages,
      endsNoSession: endsNoSession({ stages }),
      warnings: this.flowProblems({ stages }),
    };
  }
}

function isDefault(flowId: string): boolean {
  return Object.values(DEFAULT_FLOWS).includes(flowId);
}

function endsNoSession(flow: Pick<FlowView, 'stages'>): boolean {
  return !flow.stages.some((bound) => LOGOUT_STAGES.includes(bound.stage.kind));
}

function nameProblems(field: string, value: unknown): string[] {
  return typeof value === 'string' && value.trim() && value.length <= MAX_NAME
    ? []
    : [`${field}: 1–${MAX_NAME} characters, not only spaces`];
}

/**
 * A stage's config, as its kind reads it (FlowExecutor): redirect needs `url`, an absolute http(s)
 * URL; confirm and message may have `text`, a string. Other keys are kept and ignored.
 */
function checkStageConfig(kind: StageKind, config: unknown): asserts config is Record<string, unknown> {
  if (typeof config !== 'object' || config === null || Array.isArray(config))
    throw new SignoffError('invalid_request', 'config must be an object.');
  const fields = config as Record<string, unknown>;
  if (kind === 'redirect' && !isHttpUrl(fields.url))
    throw new SignoffError('invalid_request', 'A redirect stage needs config.url, an absolute http(s) URL.');
  if ((kind === 'confirm' || kind === 'message') && fields.text !== undefined && typeof fields.text !== 'string')
    throw new SignoffError('invalid_request', 'config.text must be a string.');
}

function isHttpUrl(value: unknown): boolean {
  try {
    return typeof value === 'string' && ['http:', 'https:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}
