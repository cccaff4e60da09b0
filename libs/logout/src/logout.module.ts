import { Module } from '@nestjs/common';
import { DispatchModule } from '@signoff/dispatch';
import { SessionsModule } from '@signoff/sessions';
import { BackchannelDeliverer } from './backchannel-deliverer';
import { LogoutOperationsService } from './logout-operations.service';
import { LogoutOrchestrator } from './logout-orchestrator';
import { LogoutProtocolRegistry } from './protocol-registry';

@Module({
  imports: [SessionsModule, DispatchModule],
  providers: [LogoutProtocolRegistry, LogoutOrchestrator, LogoutOperationsService, BackchannelDeliverer],
  exports: [LogoutProtocolRegistry, LogoutOrchestrator, LogoutOperationsService, BackchannelDeliverer, DispatchModule],
})
export class LogoutModule {}
