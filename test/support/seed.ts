import { type Config, IdpSession, newId, User } from '@signoff/core';
import { randomBytes } from 'node:crypto';

// Rows written straight into the tables, for suites and benchmarks whose subject comes after the
// sign-in (a thousand sessions signed in through the endpoints would dwarf what they measure).

/** A live IdP session of `userId`, started at `now`, ending an hour later. */
export function liveIdpSession(userId: string, now: Date): Omit<IdpSession, 'user'> {
  return {
    id: newId(),
    userId,
    browserId: randomBytes(32).toString('base64url'),
    authTime: now,
    lastSeenAt: now,
    expiresAt: new Date(now.getTime() + 3_600_000),
    createdAt: now,
    endedAt: null,
    endReason: null,
    ip: null,
    userAgent: null,
  };
}

/** An active user without a password (nobody signs in as them), created at `now`. */
export function plainUser(username: string, now: Date): User {
  return {
    id: newId(),
    username,
    email: null,
    emailVerified: false,
    name: null,
    givenName: null,
    familyName: null,
    passwordHash: null,
    isActive: true,
    isAdmin: false,
    createdAt: now,
    updatedAt: now,
    deactivatedAt: null,
  };
}

/**
 * The environment of a process of the built program (a worker, the CLI) that shares `config`'s
 * deployment: its public URL, secrets, Redis and key prefix, and database.
 */
export function deploymentEnv(config: Config, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PUBLIC_URL: config.publicUrl,
    DATA_DIR: config.dataDir,
    REDIS_URL: config.redisUrl,
    REDIS_PREFIX: config.redisPrefix,
    DATABASE_URL: config.database.type === 'postgres' ? config.database.url : `sqlite:${config.database.path}`,
    ...extra,
  };
}
