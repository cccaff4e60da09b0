import { Injectable } from '@nestjs/common';
import { randomToken } from '../crypto/random';
import { RedisService } from './redis.service';

/**
 * The shape of every pending-request handle: `randomToken(16)`, 16 random bytes in base64url.
 * Handles come back from browsers (query strings, form fields, RelayState), so anything else is
 * refused before it can reach Redis as part of a key.
 */
const HANDLE = /^[A-Za-z0-9_-]{22}$/;

/** True when `value` has the shape of a handle made by {@link PendingStore.put} (it may still be unknown or expired). */
export function isPendingHandle(value: unknown): value is string {
  return typeof value === 'string' && HANDLE.test(value);
}

/**
 * Requests waiting for the user (an authorization request at the login page, an end_session
 * confirmation, a SAML reply owed after the logout, a paused flow, the native chain…): a JSON value
 * under a random handle, in Redis, for a limited time. One place for this so every kind gets the
 * same handle check, the same key shape (`<prefix>:<kind>:<handle>`, as RedisService.key makes it)
 * and the same single-use read.
 *
 * `kind` names the key space (e.g. 'end-session', 'saml-sso'); a handle means nothing outside its
 * kind. Values go through JSON, so only plain data survives (no Dates, no class instances).
 */
@Injectable()
export class PendingStore {
  constructor(private readonly redis: RedisService) {}

  /** Keeps `value` for `ttlSeconds` under a new random handle, and returns the handle. */
  async put<T>(kind: string, value: T, ttlSeconds: number): Promise<string> {
    const handle = randomToken(16);
    await this.save(kind, handle, value, ttlSeconds);
    return handle;
  }

  /**
   * Keeps `value` under a handle the caller already owns (a request that goes on under the handle
   * the browser already holds), replacing what was there and restarting its TTL. A malformed handle
   * is a programming error: it could never be read back, so it throws rather than write it.
   */
  async save<T>(kind: string, handle: string, value: T, ttlSeconds: number): Promise<void> {
    if (!isPendingHandle(handle))
      throw new TypeError(`PendingStore.save: '${kind}' handle is not a pending-request handle`);
    await this.redis.client.set(this.redis.key(kind, handle), JSON.stringify(value), 'EX', ttlSeconds);
  }

  /** The value under `handle`, left in place; null when the handle is malformed (no Redis call), unknown or expired. */
  async peek<T>(kind: string, handle: unknown): Promise<T | null> {
    if (!isPendingHandle(handle)) return null;
    return parse<T>(await this.redis.client.get(this.redis.key(kind, handle)));
  }

  /**
   * The value under `handle`, removed in the same step (GETDEL): of two requests racing with the same
   * handle (a double-submitted form, a replayed link) exactly one gets it. Null as for {@link peek}.
   */
  async take<T>(kind: string, handle: unknown): Promise<T | null> {
    if (!isPendingHandle(handle)) return null;
    return parse<T>(await this.redis.client.getdel(this.redis.key(kind, handle)));
  }

  /** Forgets `handle` (once its request is done); a malformed handle is ignored. */
  async drop(kind: string, handle: unknown): Promise<void> {
    if (!isPendingHandle(handle)) return;
    await this.redis.client.del(this.redis.key(kind, handle));
  }
}

function parse<T>(raw: string | null): T | null {
  return raw === null ? null : (JSON.parse(raw) as T);
}
