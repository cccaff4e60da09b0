import { Module } from '@nestjs/common';
import { FlowsService } from './flows.service';

/** Invalidation flows as administrators see them. Running a flow is the logout engine's (libs/logout FlowExecutor). */
@Module({ providers: [FlowsService], exports: [FlowsService] })
export class FlowsModule {}
