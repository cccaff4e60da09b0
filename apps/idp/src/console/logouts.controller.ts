import {
  Controller,
  Get,
  HttpStatus,
  NotFoundException,
  Param,
  Post,
  Query,
  Res,
  UseFilters,
  UseGuards,
} from '@nestjs/common';
import { type LogoutTrigger, UsersService } from '@signoff/core';
import { LogoutOperationsService } from '@signoff/logout';
import { ProvidersAdminService } from '@signoff/providers';
import { SsfReceiversService } from '@signoff/ssf';
import type { Response } from 'express';
import { IdParam, pageOf } from '../admin/validation';
import { Admin, type ConsoleAdmin, ConsoleGuard, SignInFirst } from './console.guard';
import { text } from './forms';
import { DELIVERY_STATUSES, logoutPage, logoutsPage, OUTCOMES, TRIGGERS } from './logouts.pages';

/** Fixed notices after a retry: the URL names one, never carries its text. */
const NOTICES: Record<string, string> = {
  retried: 'The delivery is queued again; this page follows it.',
  'retried-all': 'The failed deliveries are queued again; this page follows them.',
};

/** Logout operations: the list, newest first, and each one's deliveries with their attempts; retries. */
@Controller('admin/logouts')
@UseGuards(ConsoleGuard)
@UseFilters(SignInFirst)
export class ConsoleLogoutsController {
  constructor(
    private readonly operations: LogoutOperationsService,
    private readonly users: UsersService,
    private readonly providers: ProvidersAdminService,
    private readonly receivers: SsfReceiversService,
  ) {}

  @Get()
  async list(
    @Admin() admin: ConsoleAdmin,
    @Query() query: Record<string, unknown>,
    @Res() res: Response,
  ): Promise<void> {
    const page = pageOf(query);
    const filter = {
      trigger: text(query, 'trigger'),
      outcome: text(query, 'outcome'),
      delivery_status: text(query, 'delivery_status'),
      user: text(query, 'user'),
      application: text(query, 'application'),
      since: text(query, 'since'),
      until: text(query, 'until'),
    };
    // Shared Signals receivers are told too: their events are filtered like an application's deliveries.
    const applications = [
      ...(await this.providers.list()),
      ...(await this.receivers.list()).map((receiver) => ({ id: receiver.id, name: receiver.name, protocol: 'ssf' })),
    ];
    const { problem, criteria } = await this.criteria(filter, applications);
    const { items, total } = criteria ? await this.operations.list(criteria, page) : { items: [], total: 0 };
    const usernames = await this.users.usernamesOf(items.flatMap((operation) => operation.userIds));
    res.type('html').send(logoutsPage(admin, { items, total, ...page, filter, applications, usernames, problem }));
  }

  /** One logout: its facts and counts, and its deliveries a page at a time (those not confirmed first). */
  @Get(':id')
  async detail(
    @Admin() admin: ConsoleAdmin,
    @Param('id', IdParam) id: string,
    @Query() query: Record<string, unknown>,
    @Res() res: Response,
  ): Promise<void> {
    const page = pageOf(query);
    const operation = await this.operations.overview(id);
    if (!operation) throw new NotFoundException('No such logout.');
    const deliveries = await this.operations.deliveriesOf(id, page);
    const userIds = await this.operations.userIdsOf(id);
    const initiatorIds =
      operation.initiatorType === 'admin' || operation.initiatorType === 'user' ? [operation.initiatorId!] : [];
    const usernames = await this.users.usernamesOf([...userIds, ...initiatorIds]);
    const provider = operation.initiatingProviderName;
    const initiator =
      operation.initiatorType === 'admin'
        ? `administrator ${usernames.get(operation.initiatorId!) ?? ''}`.trim()
        : operation.initiatorType === 'user'
          ? `the user ${usernames.get(operation.initiatorId!) ?? ''}`.trim()
          : operation.initiatorType === 'provider'
            ? `the application ${provider ?? operation.initiatingProviderId ?? ''}`.trim()
            : operation.initiatorType;
    const notice = typeof query.done === 'string' ? NOTICES[query.done] : undefined;
    res.type('html').send(logoutPage(admin, { operation, deliveries, ...page, usernames, userIds, initiator, notice }));
  }

  @Post(':id/deliveries/:deliveryId/retry')
  async retryOne(
    @Admin() admin: ConsoleAdmin,
    @Param('id', IdParam) id: string,
    @Param('deliveryId', IdParam) deliveryId: string,
    @Res() res: Response,
  ): Promise<void> {
    const delivery = await this.operations.delivery(deliveryId);
    if (!delivery || delivery.operationId !== id) throw new NotFoundException('No such delivery in this logout.');
    await this.operations.retryDelivery(deliveryId, admin.actor);
    res.redirect(HttpStatus.SEE_OTHER, `/admin/logouts/${id}?done=retried`);
  }

  @Post(':id/retry')
  async retryAll(@Admin() admin: ConsoleAdmin, @Param('id', IdParam) id: string, @Res() res: Response): Promise<void> {
    await this.operations.retryOperation(id, admin.actor);
    res.redirect(HttpStatus.SEE_OTHER, `/admin/logouts/${id}?done=retried-all`);
  }

  /** The list's filters as the lib takes them, or what is wrong with them (said above an empty list). */
  private async criteria(
    filter: Record<string, string | undefined>,
    applications: Array<{ id: string }>,
  ): Promise<{ problem?: string; criteria?: Parameters<LogoutOperationsService['list']>[0] }> {
    if (filter.trigger && !Object.hasOwn(TRIGGERS, filter.trigger)) return { problem: 'No such trigger.' };
    if (filter.outcome && !(OUTCOMES as readonly string[]).includes(filter.outcome))
      return { problem: 'No such outcome.' };
    if (filter.delivery_status && !(DELIVERY_STATUSES as readonly string[]).includes(filter.delivery_status))
      return { problem: 'No such delivery status.' };
    if (filter.application && !applications.some((app) => app.id === filter.application))
      return { problem: 'No such application.' };
    const user = filter.user ? await this.users.findByUsername(filter.user) : undefined;
    if (user === null) return { problem: `No user is named ${filter.user}.` };
    const since = filter.since ? new Date(filter.since) : undefined;
    const until = filter.until ? new Date(filter.until) : undefined;
    if ((since && isNaN(since.getTime())) || (until && isNaN(until.getTime())))
      return { problem: 'Times are ISO 8601 instants, such as 2026-11-25T08:00Z.' };
    return {
      criteria: {
        trigger: filter.trigger as LogoutTrigger | undefined,
        outcome: filter.outcome as 'complete' | 'partial' | 'failed' | 'open' | undefined,
        deliveryStatus: filter.delivery_status as (typeof DELIVERY_STATUSES)[number] | undefined,
        userId: user?.id,
        providerId: filter.application,
        since,
        until,
      },
    };
  }
}
