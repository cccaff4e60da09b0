import { Inject, Injectable, ServiceUnavailableException } from '@nestjs/common';
import { CONFIG, type Config, embeddedIpv4, ipv6Words, normalizeUsername, RedisService } from '@signoff/core';

/** A client address behind NAT serves many people: it may fail this many times more than one username. */
const PER_ADDRESS_FACTOR = 10;

/**
 * KEYS: the username's and the address's counters. ARGV: their limits and the window (ms).
 * Checks both counters and, only when both are under their limits, counts the attempt on both — in
 * one step, so concurrent attempts cannot all pass the check before any of them is counted.
 * Returns 1 when the attempt may go on, 0 when it is refused.
 */
const RESERVE = `
for i = 1, 2 do
  if tonumber(redis.call('GET', KEYS[i]) or '0') >= tonumber(ARGV[i]) then return 0 end
end
for i = 1, 2 do
  if redis.call('INCR', KEYS[i]) == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[3]) end
end
return 1`;

/**
 * KEYS: the counters an attempt was counted on. Takes that one attempt back, and nothing more: the
 * failures counted before it stay until the window ends (a success never resets a counter).
 */
const RELEASE = `
for i = 1, #KEYS do
  if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then redis.call('DECR', KEYS[i]) end
end
return 1`;

/**
 * Counts login attempts per username and per client address in Redis (shared by every idp process),
 * in a fixed window of LOGIN_LOCKOUT. An attempt is counted before its password is checked
 * (`reserve`) and taken back only when the password was right (`succeeded`), so at most
 * LOGIN_MAX_FAILURES passwords of one username are ever evaluated in a window, however many arrive
 * at once. While over a limit, even the right password is refused.
 */
@Injectable()
export class LoginThrottle {
  constructor(
    private readonly redis: RedisService,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  /** Counts an attempt if both limits allow it; false: refuse it without checking the password. */
  async reserve(username: string, ip: string | undefined): Promise<boolean> {
    const max = this.config.login.maxFailures;
    const allowed = await this.call(() =>
      this.redis.client.eval(
        RESERVE,
        2,
        this.userKey(username),
        this.ipKey(ip),
        max,
        max * PER_ADDRESS_FACTOR,
        this.config.login.lockoutMs,
      ),
    );
    return allowed === 1;
  }

  /** The reserved attempt was a successful login: it is not a failure, so take it back. */
  async succeeded(username: string, ip: string | undefined): Promise<void> {
    await this.call(() => this.redis.client.eval(RELEASE, 2, this.userKey(username), this.ipKey(ip)));
  }

  private userKey(username: string) {
    return this.redis.key('login-failures', 'user', normalizeUsername(username));
  }

  private ipKey(ip: string | undefined) {
    return this.redis.key('login-failures', 'ip', addressBucket(ip));
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

/**
 * The counter a client address is counted under: IPv4 as it is (also when written inside IPv6,
 * `::ffff:a.b.c.d`), IPv6 by its /64 — the smallest block one subscriber gets (RFC 6177), so a client
 * cannot draw a fresh counter from each address of its own network.
 */
export function addressBucket(ip: string | undefined): string {
  if (!ip) return 'unknown';
  const words = ipv6Words(ip);
  if (!words) return ip;
  return (
    embeddedIpv4(ip) ??
    `${words
      .slice(0, 4)
      .map((word) => word.toString(16))
      .join(':')}::/64`
  );
}
