import { Injectable } from '@nestjs/common';
import { RedisService } from './redis.service';

/**
 * First-use markers: remembers that a message (e.g. a SAML AuthnRequest or LogoutRequest, by its
 * issuer and ID) was seen, so that a replay within the window is refused. Unlike PendingStore it
 * keeps no value and its keys come from the message, not from a handle of ours.
 */
@Injectable()
export class ReplayCache {
  constructor(private readonly redis: RedisService) {}

  /**
   * Marks `<prefix>:<kind>:<parts…>` as used for `ttlSeconds`, in one SET NX so that of two
   * concurrent requests only one is first. True the first time, false while the mark lasts.
   * The TTL must outlast the time the message itself is valid, or a replay after expiry gets in.
   */
  async firstUse(kind: string, parts: string[], ttlSeconds: number): Promise<boolean> {
    return (await this.redis.client.set(this.redis.key(kind, ...parts), '1', 'EX', ttlSeconds, 'NX')) === 'OK';
  }
}
