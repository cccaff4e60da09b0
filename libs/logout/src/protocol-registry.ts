import { Injectable } from '@nestjs/common';
import type { Protocol } from '@signoff/core';
import type { LogoutProtocol, ReadOnce } from './logout-protocol';
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

  /**
   * Each protocol reads the settings of the applications of `sessions` together (a query each,
   * LogoutProtocol.readSettings), into `once`: a bulk logout, and a worker's batch of it, spans a
   * hundred applications, which asked one by one were a hundred round trips.
   */
  async readSettingsOf(
    sessions: Iterable<{ providerId: string; provider: { protocol: Protocol } }>,
    once: ReadOnce,
  ): Promise<void> {
    const byProtocol = new Map<Protocol, Set<string>>();
    for (const { providerId, provider } of sessions)
      byProtocol.set(provider.protocol, (byProtocol.get(provider.protocol) ?? new Set<string>()).add(providerId));
    await Promise.all(
      [...byProtocol]
        .filter(([protocol]) => this.protocols.has(protocol))
        .map(([protocol, ids]) => this.for(protocol).readSettings?.([...ids], once)),
    );
  }
}
