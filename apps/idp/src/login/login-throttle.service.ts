import { Inject, Injectable, ServiceUnavailableException } from '@nestjs/common';
import { CONFIG, type Config, normalizeUsername, RedisService } from '@signoff/core';

/** A client address behind NAT serves many people: it may fail this many times more than one username. */
const PER_ADDRESS_FACTOR = 10;

/**
 * Counts failed logins per username and per client address in Redis (shared by every idp process),
 * in a fixed window of LOGIN_LOCKOUT. While over the limit, even the right password is refused.
 */
@Injectable()
export class LoginThrottle {
  constructor(private readonly redis: RedisService, @Inject(CONFIG) private readonly config: Config) {}

  async allowed(username: string, ip: string | undefined): Promise<boolean> {
    const [user, address] = await this.call(() => this.redis.client.mget(this.userKey(username), this.ipKey(ip)));
    const max = this.config.login.maxFailures;
    return Number(user ?? 0) < max && Number(address ?? 0) < max * PER_ADDRESS_FACTOR;
  }

  async failed(username: string, ip: string | undefined): Promise<void> {
    const window = this.config.login.lockoutMs;
    const multi = this.redis.client.multi();
    for (const key of [this.userKey(username), this.ipKey(ip)]) multi.set(key, 0, 'PX', window, 'NX').incr(key);
    await this.call(() => multi.exec());
  }

  async succeeded(username: string): Promise<void> {
    await this.call(() => this.redis.client.del(this.userKey(username)));
  }

  private userKey(username: string) {
    return this.redis.key('login-failures', 'user', normalizeUsername(username));
  }

  private ipKey(ip: string | undefined) {
    return this.redis.key('login-failures', 'ip', ip ?? 'unknown');
  }

  /** Without Redis the limits cannot be enforced, so logins are refused rather than left unthrottled. */
  private async call<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch {
      throw new ServiceUnavailableException('Signing in is unavailable for a moment. Try again shortly.');
    }
  }
}
