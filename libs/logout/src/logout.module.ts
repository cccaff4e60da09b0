import { Module } from '@nestjs/common';
import { DispatchModule } from '@signoff/dispatch';
import { SessionsModule } from '@signoff/sessions';
import { ApplicationLogout } from './application-logout';
import { AttemptRecorder } from './attempt-recorder';
import { BackchannelDeliverer } from './backchannel-deliverer';
import { FlowExecutor } from './flow-executor';
import { GlobalTokenRevocation } from './global-token-revocation';
import { LogoutJourney } from './logout-journey';
import { LogoutMetrics } from './logout-metrics';
import { LogoutOperationsService } from './logout-operations.service';
import { LogoutOrchestrator } from './logout-orchestrator';
import { OutboxPieces } from './outbox-pieces';
import { OutboxRelay } from './outbox-relay';
import { LogoutProtocolRegistry } from './protocol-registry';
import { SecurityEventBooks } from './security-event-books';

@Module({
  imports: [SessionsModule, DispatchModule],
  providers: [
    LogoutProtocolRegistry,
    LogoutOrchestrator,
    LogoutOperationsService,
    BackchannelDeliverer,
    AttemptRecorder,
    OutboxRelay,
    OutboxPieces,
    FlowExecutor,
    LogoutJourney,
    ApplicationLogout,
    LogoutMetrics,
    GlobalTokenRevocation,
    SecurityEventBooks,
  ],
  exports: [
    LogoutProtocolRegistry,
    LogoutOrchestrator,
    LogoutOperationsService,
    BackchannelDeliverer,
    OutboxRelay,
    OutboxPieces,
    FlowExecutor,
    LogoutJourney,
    ApplicationLogout,
    GlobalTokenRevocation,
    SecurityEventBooks,
    DispatchModule,
  ],
})
export class LogoutModule {}
