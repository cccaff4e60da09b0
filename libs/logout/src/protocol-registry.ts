import { Injectable } from '@nestjs/common';
import type { Protocol } from '@signoff/core';
import type { LogoutProtocol } from './logout-protocol';
import type { SecurityEventTransmitter } from './security-events';

/**
 * Protocol libraries register here at module init; the engine looks them up by provider protocol.
 * A Shared Signals transmitter (libs/ssf) registers as `signals`: without one, no logout owes events.
 */
@Injectable()
export class LogoutProtocolRegistry {
  private readonly protocols = new Map<Protocol, LogoutProtocol>();
  private transmitter: SecurityEventTransmitter | null = null;

  registerTransmitter(transmitter: SecurityEventTransmitter): void {
    this.transmitter = transmitter;
  }

  get signals(): SecurityEventTransmitter | null {
    return this.transmitter;
  }

  register(protocol: LogoutProtocol): void {
    this.protocols.set(protocol.protocol, protocol);
  }

  for(protocol: Protocol): LogoutProtocol {
    const found = this.protocols.get(protocol);
    if (!found) throw new Error(`no logout protocol registered for ${protocol}`);
    return found;
  }

  has(protocol: Protocol): boolean {
    return this.protocols.has(protocol);
  }

  all(): LogoutProtocol[] {
    return [...this.protocols.values()];
  }
}
