import { Injectable } from '@nestjs/common';
import type { Protocol } from '@signoff/core';
import type { LogoutProtocol } from './logout-protocol';

/** Protocol libraries register here at module init; the engine looks them up by provider protocol. */
@Injectable()
export class LogoutProtocolRegistry {
  private readonly protocols = new Map<Protocol, LogoutProtocol>();

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
