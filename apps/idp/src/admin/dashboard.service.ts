import { Injectable } from '@nestjs/common';
import { Clock } from '@signoff/core';
import { DeliveryQueue } from '@signoff/dispatch';
import { type DashboardNumbers, LogoutOperationsService } from '@signoff/logout';
import { IdpSessionsService } from '@signoff/sessions';

/** What the dashboard shows, as of `at`: sessions and logins, logouts by outcome, the outbox, the queue. */
export type Dashboard = DashboardNumbers & {
  at: Date;
  sessions: { live: number; loginsLast24h: number };
  queue: { reachable: boolean };
};

/** The numbers of the dashboard, for GET /api/v1/dashboard and the console's first page alike. */
@Injectable()
export class DashboardService {
  constructor(
    private readonly sessions: IdpSessionsService,
    private readonly operations: LogoutOperationsService,
    private readonly queue: DeliveryQueue,
    private readonly clock: Clock,
  ) {}

  async numbers(): Promise<Dashboard> {
    const at = this.clock.now();
    const [sessions, logouts, reachable] = await Promise.all([
      this.sessions.counts(at),
      this.operations.dashboard(at),
      this.queue.reachable(),
    ]);
    return { at, sessions, ...logouts, queue: { reachable } };
  }
}
