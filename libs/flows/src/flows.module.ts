import { Module } from '@nestjs/common';
import { LogoutModule } from '@signoff/logout';
import { FlowExecutor } from './flow-executor';
import { FlowsService } from './flows.service';

@Module({ imports: [LogoutModule], providers: [FlowExecutor, FlowsService], exports: [FlowExecutor, FlowsService, LogoutModule] })
export class FlowsModule {}
