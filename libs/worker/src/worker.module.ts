import { Module } from '@nestjs/common';
import { LogoutModule } from '@signoff/logout';
import { OidcModule } from '@signoff/oidc';
import { SamlModule } from '@signoff/saml';
import { SsfModule } from '@signoff/ssf';
import { SessionsModule } from '@signoff/sessions';
import { DeliveryWorker } from './delivery-worker';
import { ExpirySweeper } from './expiry-sweeper';
import { SamlMetadataRefresher } from './saml-metadata-refresher';

/**
 * The worker's jobs (back-channel deliveries with the outbox relay, the expiry sweeper, the SP
 * metadata refresher), without the process-wide modules: the worker process (`apps/worker`) and the
 * idp's one-process mode (`npm start`) both compose it, so neither app imports the other. The protocol modules are here
 * because they register their LogoutProtocol with the engine the deliveries run through.
 */
@Module({
  imports: [SessionsModule, LogoutModule, OidcModule, SamlModule, SsfModule],
  providers: [ExpirySweeper, DeliveryWorker, SamlMetadataRefresher],
})
export class WorkerModule {}
