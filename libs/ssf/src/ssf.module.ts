import { Module } from '@nestjs/common';
import { LogoutModule } from '@signoff/logout';
import { SsfPollService } from './ssf-poll.service';
import { SsfReceiversService } from './ssf-receivers.service';
import { SsfStreamsService } from './ssf-streams.service';
import { SsfTransmitter } from './ssf-transmitter';

const providers = [SsfTransmitter, SsfReceiversService, SsfStreamsService, SsfPollService];

/** The Shared Signals transmitter (SSF 1.0, CAEP 1.0, RISC 1.0): in the idp and in the worker (which pushes). */
@Module({ imports: [LogoutModule], providers, exports: providers })
export class SsfModule {}
