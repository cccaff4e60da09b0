import { Body, Controller, Get, HttpStatus, Param, Post, Query, Res, UseFilters, UseGuards } from '@nestjs/common';
import { SignoffError, type StageKind } from '@signoff/core';
import { FlowsService, type FlowView } from '@signoff/flows';
import { ProvidersAdminService } from '@signoff/providers';
import type { Response } from 'express';
import { IdParam } from '../admin/validation';
import type { FormProblem } from './console-layout';
import { Admin, type ConsoleAdmin, ConsoleGuard, SignInFirst } from './console.guard';
import {
  deleteFlowPage,
  type FlowModel,
  flowPage,
  type FlowsModel,
  flowsPage,
  STAGE_KINDS,
  stagePage,
} from './flows.pages';
import { checked, type FormBody, formProblem, problemStatus, text } from './forms';

const NOTICES: Record<string, string> = {
  created: 'The flow was created.',
  'stage-created': 'The stage was created.',
  saved: 'Saved.',
  deleted: 'The flow was deleted; its applications run the default flow now.',
  'stage-deleted': 'The stage was deleted.',
  bound: 'The application runs this flow now.',
};

const notice = (done: unknown) => (typeof done === 'string' ? NOTICES[done] : undefined);

/** A stage's config from the form: a text for confirm and message, a URL for redirect. */
function configOf(kind: StageKind | undefined, body: FormBody): Record<string, unknown> {
  if (kind === 'redirect') return { url: text(body, 'url') ?? '' };
  if (kind === 'confirm' || kind === 'message') {
    const shown = text(body, 'text');
    return shown ? { text: shown } : {};
  }
  return {};
}

/**
 * Invalidation flows: list, create, rename, add/remove/reorder stages, bind to applications, delete;
 * and the stages themselves. Everything goes through FlowsService and ProvidersAdminService, as the
 * admin API does, so the same checks apply (one logout stage per flow, a flow that ends no session
 * needs a confirmation to be bound, a bound stage cannot be deleted).
 */
@Controller('admin/flows')
@UseGuards(ConsoleGuard)
@UseFilters(SignInFirst)
export class ConsoleFlowsController {
  constructor(
    private readonly flows: FlowsService,
    private readonly providers: ProvidersAdminService,
  ) {}

  @Get()
  async list(@Admin() admin: ConsoleAdmin, @Query('done') done: unknown, @Res() res: Response): Promise<void> {
    res.type('html').send(flowsPage(admin, await this.listModel({ notice: notice(done) })));
  }

  @Post()
  async create(@Admin() admin: ConsoleAdmin, @Body() body: FormBody, @Res() res: Response): Promise<void> {
    const fields = { name: text(body, 'name'), slug: text(body, 'slug') };
    try {
      const flow = await this.flows.createFlow({ name: fields.name ?? '', slug: fields.slug ?? '' }, admin.actor);
      res.redirect(HttpStatus.SEE_OTHER, `/admin/flows/${flow.id}?done=created`);
    } catch (error) {
      await this.refused(res, error, admin, { problemIn: 'flow', fields });
    }
  }

  @Post('stages')
  async createStage(@Admin() admin: ConsoleAdmin, @Body() body: FormBody, @Res() res: Response): Promise<void> {
    const kind = text(body, 'kind') as StageKind | undefined;
    const fields = { stageName: text(body, 'name'), kind, text: text(body, 'text'), url: text(body, 'url') };
    try {
      if (!kind || !Object.hasOwn(STAGE_KINDS, kind))
        throw new SignoffError('invalid_request', 'Choose the kind of stage.');
      await this.flows.createStage({ name: fields.stageName ?? '', kind, config: configOf(kind, body) }, admin.actor);
      res.redirect(HttpStatus.SEE_OTHER, '/admin/flows?done=stage-created#stages');
    } catch (error) {
      await this.refused(res, error, admin, { problemIn: 'stage', fields });
    }
  }

  @Get('stages/:id')
  async stage(
    @Admin() admin: ConsoleAdmin,
    @Param('id', IdParam) id: string,
    @Query('done') done: unknown,
    @Res() res: Response,
  ): Promise<void> {
    res.type('html').send(stagePage(admin, { stage: await this.flows.getStage(id), notice: notice(done) }));
  }

  @Post('stages/:id')
  async updateStage(
    @Admin() admin: ConsoleAdmin,
    @Param('id', IdParam) id: string,
    @Body() body: FormBody,
    @Res() res: Response,
  ): Promise<void> {
    const stage = await this.flows.getStage(id);
    try {
      await this.flows.updateStage(id, { name: text(body, 'name'), config: configOf(stage.kind, body) }, admin.actor);
      res.redirect(HttpStatus.SEE_OTHER, `/admin/flows/stages/${id}?done=saved`);
    } catch (error) {
      const problem = this.problemOf(error);
      const fields = { name: text(body, 'name'), text: text(body, 'text'), url: text(body, 'url') };
      res.status(problemStatus(error)).type('html').send(stagePage(admin, { stage, fields, problem }));
    }
  }

  @Post('stages/:id/delete')
  async deleteStage(
    @Admin() admin: ConsoleAdmin,
    @Param('id', IdParam) id: string,
    @Res() res: Response,
  ): Promise<void> {
    const stage = await this.flows.getStage(id);
    try {
      await this.flows.deleteStage(id, admin.actor);
      res.redirect(HttpStatus.SEE_OTHER, '/admin/flows?done=stage-deleted#stages');
    } catch (error) {
      res
        .status(problemStatus(error))
        .type('html')
        .send(stagePage(admin, { stage, problem: this.problemOf(error) }));
    }
  }

  @Get(':id')
  async detail(
    @Admin() admin: ConsoleAdmin,
    @Param('id', IdParam) id: string,
    @Query('done') done: unknown,
    @Res() res: Response,
  ): Promise<void> {
    res.type('html').send(flowPage(admin, await this.flowModel(id, { notice: notice(done) })));
  }

  @Post(':id/rename')
  async rename(
    @Admin() admin: ConsoleAdmin,
    @Param('id', IdParam) id: string,
    @Body() body: FormBody,
    @Res() res: Response,
  ): Promise<void> {
    await this.act(res, admin, id, 'rename', () =>
      this.flows.renameFlow(id, { name: text(body, 'name'), slug: text(body, 'slug') }, admin.actor),
    );
  }

  @Post(':id/bind')
  async bind(
    @Admin() admin: ConsoleAdmin,
    @Param('id', IdParam) id: string,
    @Body() body: FormBody,
    @Res() res: Response,
  ): Promise<void> {
    await this.act(res, admin, id, 'add', async () => {
      const flow = await this.flows.getFlow(id);
      const order = Math.max(0, ...flow.stages.map((bound) => bound.order)) + 10;
      return this.flows.bind(id, { stageId: text(body, 'stage') ?? '', order }, admin.actor);
    });
  }

  @Post(':id/unbind')
  async unbind(
    @Admin() admin: ConsoleAdmin,
    @Param('id', IdParam) id: string,
    @Body() body: FormBody,
    @Res() res: Response,
  ): Promise<void> {
    const binding = text(body, 'binding') ?? '';
    const confirmEndsNoSession = checked(body, 'confirmEndsNoSession');
    try {
      await this.flows.unbind(id, binding, admin.actor, { confirmEndsNoSession });
      res.redirect(HttpStatus.SEE_OTHER, `/admin/flows/${id}?done=saved#stages`);
    } catch (error) {
      await this.askOrRefuse(res, admin, id, error, { problemIn: 'add', confirmUnbind: binding });
    }
  }

  /** Moves one stage up or down: the whole new order goes to FlowsService.reorder, which applies it at once. */
  @Post(':id/move')
  async move(
    @Admin() admin: ConsoleAdmin,
    @Param('id', IdParam) id: string,
    @Body() body: FormBody,
    @Res() res: Response,
  ): Promise<void> {
    await this.act(res, admin, id, 'add', async () => {
      const order = (await this.flows.getFlow(id)).stages.map((bound) => bound.bindingId);
      const at = order.indexOf(text(body, 'binding') ?? '');
      const to = body.direction === 'up' ? at - 1 : at + 1;
      if (at < 0 || to < 0 || to >= order.length)
        throw new SignoffError('invalid_request', 'That stage cannot move there.');
      [order[at], order[to]] = [order[to], order[at]];
      return this.flows.reorder(id, order, admin.actor);
    });
  }

  /** Makes an application run this flow; a flow that ends no session needs the confirmation box. */
  @Post(':id/applications')
  async bindApplication(
    @Admin() admin: ConsoleAdmin,
    @Param('id', IdParam) id: string,
    @Body() body: FormBody,
    @Res() res: Response,
  ): Promise<void> {
    const application = text(body, 'application') ?? '';
    try {
      await this.providers.update(
        application,
        { invalidationFlowId: id, confirmEndsNoSession: checked(body, 'confirmEndsNoSession') || undefined },
        admin.actor,
      );
      res.redirect(HttpStatus.SEE_OTHER, `/admin/flows/${id}?done=bound#applications`);
    } catch (error) {
      await this.askOrRefuse(res, admin, id, error, { problemIn: 'bind', confirmBind: application });
    }
  }

  /** Asks first, naming the applications that will fall back to the default flow. */
  @Get(':id/delete')
  async confirmDelete(
    @Admin() admin: ConsoleAdmin,
    @Param('id', IdParam) id: string,
    @Res() res: Response,
  ): Promise<void> {
    const flow = await this.flows.getFlow(id);
    res.type('html').send(deleteFlowPage(admin, flow, await this.flows.boundProviders(id)));
  }

  @Post(':id/delete')
  async remove(@Admin() admin: ConsoleAdmin, @Param('id', IdParam) id: string, @Res() res: Response): Promise<void> {
    await this.act(res, admin, id, 'rename', async () => {
      await this.flows.deleteFlow(id, admin.actor, { force: true });
      return null;
    });
  }

  /** Runs a change to flow `id`: back to its page (or the list, when it is gone) with a notice, or its page again with the problem. */
  private async act(
    res: Response,
    admin: ConsoleAdmin,
    id: string,
    form: NonNullable<FlowModel['problemIn']>,
    change: () => Promise<FlowView | null>,
  ): Promise<void> {
    try {
      const flow = await change();
      res.redirect(
        HttpStatus.SEE_OTHER,
        flow ? `/admin/flows/${id}?done=saved#${form === 'add' ? 'stages' : form}` : '/admin/flows?done=deleted',
      );
    } catch (error) {
      const problem = this.problemOf(error);
      res
        .status(problemStatus(error))
        .type('html')
        .send(flowPage(admin, await this.flowModel(id, { problem, problemIn: form })));
    }
  }

  /**
   * The flow's page again after a refused change: with the confirmation box for what `asks` names
   * when the refusal is `flow_ends_no_session` (the change would leave a flow that signs nobody out),
   * else with the problem only.
   */
  private async askOrRefuse(
    res: Response,
    admin: ConsoleAdmin,
    id: string,
    error: unknown,
    asks: Pick<FlowModel, 'problemIn' | 'confirmBind' | 'confirmUnbind'>,
  ): Promise<void> {
    const problem = this.problemOf(error);
    const model =
      problem.code === 'flow_ends_no_session' ? { problem, ...asks } : { problem, problemIn: asks.problemIn };
    res
      .status(problemStatus(error))
      .type('html')
      .send(flowPage(admin, await this.flowModel(id, model)));
  }

  /** A refusal as the form shows it; anything that is not a refusal of the input (a 404, a 5xx) goes on to the error page. */
  private problemOf(error: unknown): FormProblem {
    const problem = formProblem(error);
    if (!problem || problemStatus(error) === HttpStatus.NOT_FOUND) throw error;
    return problem;
  }

  private async refused(res: Response, error: unknown, admin: ConsoleAdmin, extra: Partial<FlowsModel>): Promise<void> {
    const problem = this.problemOf(error);
    res
      .status(problemStatus(error))
      .type('html')
      .send(flowsPage(admin, await this.listModel({ problem, ...extra })));
  }

  private async listModel(extra: Partial<FlowsModel>): Promise<FlowsModel> {
    const [flows, stages, applications] = await Promise.all([
      this.flows.listFlows(),
      this.flows.listStages(),
      this.providers.list(),
    ]);
    const boundCounts = new Map<string, number>();
    for (const app of applications)
      if (app.invalidationFlowId)
        boundCounts.set(app.invalidationFlowId, (boundCounts.get(app.invalidationFlowId) ?? 0) + 1);
    return { flows, stages, boundCounts, ...extra };
  }

  private async flowModel(id: string, extra: Partial<FlowModel>): Promise<FlowModel> {
    const [flow, stages, bound, applications] = await Promise.all([
      this.flows.getFlow(id),
      this.flows.listStages(),
      this.flows.boundProviders(id),
      this.providers.list(),
    ]);
    return { flow, stages, bound, applications, ...extra };
  }
}
