import { Injectable } from '@nestjs/common';
import { type Actor, DEFAULT_FLOWS, Flow, FlowStageBinding, type LogoutTrigger, type Stage } from '@signoff/core';
import { LogoutOrchestrator } from './logout-orchestrator';
import { DataSource } from 'typeorm';

/** What a flow runs on. */
export interface FlowContext {
  trigger: LogoutTrigger;
  initiator: Actor;
  /** The IdP sessions the logout is about (the browser's current one, or those an admin picked). */
  idpSessionIds: string[];
  /** The provider session of the application that asked, for provider-initiated logouts. */
  initiatingProviderSessionId: string | null;
  /** A browser is here: interactive stages may ask, front-channel deliveries may run. */
  interactive: boolean;
  /** The IdP sessions that are this browser's, when `idpSessionIds` also holds other devices' (see EndSessionsRequest). */
  browserIdpSessionIds?: string[];
  /** Where a `redirect` stage wants the browser to end up. */
  redirectTo?: string | null;
}

/** A flow either finishes, or stops at an interactive stage that the caller shows, then resumes at `resumeAt`. */
export type FlowStep =
  | { kind: 'done'; operationId: string | null; redirectTo: string | null }
  | { kind: 'confirm' | 'message'; text: string; resumeAt: number; operationId: string | null };

/**
 * Runs an invalidation flow's stages in order. `user_logout` ends the IdP sessions and every provider
 * session in them (full SLO); `provider_logout` ends only the initiating application's session;
 * `confirm` and `message` stop to ask the user (skipped without a browser); `redirect` picks where
 * the browser goes at the end.
 */
@Injectable()
export class FlowExecutor {
  constructor(
    private readonly db: DataSource,
    private readonly orchestrator: LogoutOrchestrator,
  ) {}

  /** The flow for a trigger: the provider's own, else the default one for who started the logout. */
  flowFor(providerFlowId: string | null, providerInitiated: boolean): string {
    return providerFlowId ?? (providerInitiated ? DEFAULT_FLOWS.providerInvalidation : DEFAULT_FLOWS.invalidation);
  }

  async run(flowId: string, context: FlowContext, startAt = 0, operationId: string | null = null): Promise<FlowStep> {
    if (!(await this.db.getRepository(Flow).existsBy({ id: flowId }))) throw new Error(`flow ${flowId} does not exist`);
    const stages = (
      await this.db
        .getRepository(FlowStageBinding)
        .find({ where: { flowId }, relations: { stage: true }, order: { order: 'ASC' } })
    ).map((binding) => binding.stage);
    for (let index = startAt; index < stages.length; index++) {
      const stage = stages[index];
      const ask = this.interaction(stage, context);
      if (ask) return { ...ask, resumeAt: index + 1, operationId };
      operationId = (await this.perform(stage, context)) ?? operationId;
    }
    return { kind: 'done', operationId, redirectTo: context.redirectTo ?? null };
  }

  private interaction(
    stage: Stage,
    context: FlowContext,
  ): Omit<Extract<FlowStep, { resumeAt: number }>, 'resumeAt' | 'operationId'> | null {
    if (!context.interactive || (stage.kind !== 'confirm' && stage.kind !== 'message')) return null;
    const fallback = stage.kind === 'confirm' ? 'Do you want to sign out?' : 'You are being signed out.';
    return { kind: stage.kind, text: typeof stage.config.text === 'string' ? stage.config.text : fallback };
  }

  /** Performs one stage; returns the id of the logout operation it started, if any. */
  private async perform(stage: Stage, context: FlowContext): Promise<string | null> {
    const common = {
      trigger: context.trigger,
      initiator: context.initiator,
      initiatingProviderSessionId: context.initiatingProviderSessionId,
      withBrowser: context.interactive,
      browserIdpSessionIds: context.browserIdpSessionIds,
    };
    switch (stage.kind) {
      case 'user_logout':
        return (
          await this.orchestrator.endSessions({
            ...common,
            reason: reasonFor(context.trigger),
            idpSessionIds: context.idpSessionIds,
          })
        ).id;
      case 'provider_logout':
        if (!context.initiatingProviderSessionId) return null;
        return (
          await this.orchestrator.endSessions({
            ...common,
            reason: 'logout',
            providerSessionIds: [context.initiatingProviderSessionId],
          })
        ).id;
      case 'redirect':
        context.redirectTo = String(stage.config.url);
        return null;
      default:
        return null;
    }
  }
}

function reasonFor(trigger: LogoutTrigger) {
  switch (trigger) {
    case 'admin_session':
    case 'api':
      return 'admin' as const;
    case 'user_deactivated':
      return 'user_deactivated' as const;
    case 'expiry':
      return 'expired_absolute' as const;
    default:
      return 'logout' as const;
  }
}
