import { Controller, Get, Res, UseFilters, UseGuards } from '@nestjs/common';
import type { Response } from 'express';
import { DashboardService } from '../admin/dashboard.service';
import { Admin, type ConsoleAdmin, ConsoleGuard, SignInFirst } from './console.guard';
import { dashboardPage } from './dashboard.pages';

/** The console's first page: what is happening, each number a link to the list behind it. */
@Controller('admin')
@UseGuards(ConsoleGuard)
@UseFilters(SignInFirst)
export class ConsoleDashboardController {
  constructor(private readonly dashboard: DashboardService) {}

  @Get()
  async show(@Admin() admin: ConsoleAdmin, @Res() res: Response): Promise<void> {
    res.type('html').send(dashboardPage(admin, await this.dashboard.numbers()));
  }
}
