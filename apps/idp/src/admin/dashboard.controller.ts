import { Controller, Get, UseGuards } from '@nestjs/common';
import { AdminGuard } from './admin.guard';
import { DashboardService } from './dashboard.service';

/** The numbers of the admin console's dashboard: sessions and logins, logouts by outcome, the outbox, the queue. */
@Controller('api/v1/dashboard')
@UseGuards(AdminGuard)
export class AdminDashboardController {
  constructor(private readonly dashboard: DashboardService) {}

  @Get()
  get() {
    return this.dashboard.numbers();
  }
}
