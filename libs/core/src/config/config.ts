import { isAbsolute, join, resolve } from 'node:path';
import { PASSWORD_MIN_LENGTH_FLOOR, passwordProblem } from '../crypto/password-policy';
import { parseDuration } from './duration';
import { type OutboundAllow, parseOutboundAllow } from '../outbound/outbound-policy';

export type DatabaseConfig = { type: 'sqlite'; path: string } | { type: 'postgres'; url: string };
export type LogLevel = 'silent' | 'error' | 'warn' | 'info' | 'debug';

export interface Config {
  /** Issuer and base of every absolute URL we hand out; no trailing slash. */
  publicUrl: string;
  host: string;
  port: number;
  dataDir: string;
  database: DatabaseConfig;
  /** undefined: spawn a private redis-server on a unix socket in dataDir. */
  redisUrl: string | undefined;
  /** Namespace of every Redis key and BullMQ queue, so several deployments can share a Redis. */
  redisPrefix: string;
  session: { absoluteMs: number; idleMs: number; sweepIntervalMs: number };
  /** undefined: generated into dataDir on first start (see secrets.ts). */
  cookieSecret: string | undefined;
  /** Key of pairwise subs and persistent NameIDs; undefined: generated into dataDir. Never change it. */
  subjectSecret: string | undefined;
  bootstrapAdmin: { username: string; password: string } | undefined;
  login: { maxFailures: number; lockoutMs: number };
  /** Rules for new passwords (see crypto/password-policy.ts). */
  passwords: { minLength: number };
  /**
   * encryptionKey: the key-encryption key (KEK) that private signing keys are sealed under at rest;
   * undefined: generated into dataDir. previousEncryptionKey: still accepted for decryption while the
   * KEK is rotated (see keys/key-encryption.ts).
   */
  keys: { retiredPublishedMs: number; encryptionKey: string | undefined; previousEncryptionKey: string | undefined };
  oidc: {
    accessTokenMs: number;
    refreshTokenMs: number;
    idTokenMs: number;
    /** RFC 7591 initial access token; undefined: dynamic registration is off. */
    registrationToken: string | undefined;
    /** Accept http:// (non-loopback) URIs for confidential clients. */
    allowHttp: boolean;
  };
  delivery: { timeoutMs: number; attempts: number; concurrency: number; frontchannelTimeoutMs: number };
  /** What server-side requests may reach beyond public addresses (OUTBOUND_ALLOW; see outbound/outbound-policy.ts). */
  outbound: { allow: OutboundAllow };
  saml: { entityId: string };
  bodyLimitBytes: number;
  trustProxy: boolean;
  logLevel: LogLevel;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

type Env = Record<string, string | undefined>;

/** Reads and validates the configuration; throws a ConfigError listing every bad value at once. */
export function loadConfig(env: Env, cwd = process.cwd()): Config {
  const problems: string[] = [];
  const bad = (name: string, rule: string) => problems.push(`${name}: ${rule} (got ${JSON.stringify(env[name])})`);
  const value = (name: string) => (env[name] === undefined || env[name] === '' ? undefined : env[name]!.trim());

  const integer = (name: string, fallback: number, min: number, max: number) => {
    const raw = value(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < min || n > max) bad(name, `must be a whole number from ${min} to ${max}`);
    return n;
  };
  const duration = (name: string, fallback: string, minMs: number) => {
    const raw = value(name) ?? fallback;
    const ms = parseDuration(raw);
    if (ms === null || ms < minMs) {
      bad(name, `must be a duration such as 90s, 15m, 12h or 7d, at least ${minMs / 1000}s`);
      return minMs;
    }
    return ms;
  };
  const boolean = (name: string, fallback: boolean) => {
    const raw = value(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (['1', 'true', 'yes'].includes(raw)) return true;
    if (['0', 'false', 'no'].includes(raw)) return false;
    bad(name, 'must be true or false');
    return fallback;
  };

  let publicUrl = value('PUBLIC_URL') ?? 'http://127.0.0.1:3000';
  try {
    const url = new URL(publicUrl);
    if (!['http:', 'https:'].includes(url.protocol) || url.search || url.hash || url.username) throw new Error();
    publicUrl = url.href.replace(/\/$/, '');
  } catch {
    bad('PUBLIC_URL', 'must be an absolute http(s) URL without query, fragment or credentials');
  }

  const dataDir = resolve(cwd, value('DATA_DIR') ?? 'data');
  const database = parseDatabaseUrl(value('DATABASE_URL'), dataDir, cwd);
  if (!database) bad('DATABASE_URL', 'must be postgres://user:pass@host:port/db or sqlite:<file path>');

  const redisUrl = value('REDIS_URL');
  if (redisUrl !== undefined && !/^(rediss?:\/\/.+|unix:\/\/\/.+)$/.test(redisUrl)) {
    bad('REDIS_URL', 'must be redis://host:port[/db], rediss://… or unix:///path/to/redis.sock');
  }
  const redisPrefix = value('REDIS_PREFIX') ?? 'signoff';
  if (!/^[a-zA-Z0-9_-]{1,40}$/.test(redisPrefix)) bad('REDIS_PREFIX', 'must be 1-40 letters, digits, _ or -');

  const cookieSecret = value('COOKIE_SECRET');
  if (cookieSecret !== undefined && cookieSecret.length < 32) bad('COOKIE_SECRET', 'must be at least 32 characters');
  const keyEncryptionKey = value('KEY_ENCRYPTION_KEY');
  if (keyEncryptionKey !== undefined && keyEncryptionKey.length < 32) bad('KEY_ENCRYPTION_KEY', 'must be at least 32 characters');
  const previousKeyEncryptionKey = value('KEY_ENCRYPTION_KEY_PREVIOUS');
  if (previousKeyEncryptionKey !== undefined && previousKeyEncryptionKey.length < 32) bad('KEY_ENCRYPTION_KEY_PREVIOUS', 'must be at least 32 characters');
  if (previousKeyEncryptionKey !== undefined && keyEncryptionKey === undefined) problems.push('KEY_ENCRYPTION_KEY_PREVIOUS: set KEY_ENCRYPTION_KEY (the new key) as well');
  const subjectSecret = value('SUBJECT_SECRET');
  if (subjectSecret !== undefined && subjectSecret.length < 32) bad('SUBJECT_SECRET', 'must be at least 32 characters');

  const adminUser = value('BOOTSTRAP_ADMIN_USERNAME');
  const adminPassword = env.BOOTSTRAP_ADMIN_PASSWORD || undefined;
  if ((adminUser === undefined) !== (adminPassword === undefined)) {
    problems.push('BOOTSTRAP_ADMIN_USERNAME and BOOTSTRAP_ADMIN_PASSWORD: set both or neither');
  }
  const passwordMinLength = integer('PASSWORD_MIN_LENGTH', 12, PASSWORD_MIN_LENGTH_FLOOR, 128);
  // The first administrator's password meets the same policy as every other new password.
  const adminPasswordProblem = adminPassword === undefined ? null : passwordProblem(adminPassword, passwordMinLength);
  if (adminPasswordProblem) problems.push(`BOOTSTRAP_ADMIN_PASSWORD: ${adminPasswordProblem}`);

  const absoluteMs = duration('SESSION_ABSOLUTE_LIFETIME', '12h', 60_000);
  const idleMs = duration('SESSION_IDLE_TIMEOUT', '2h', 60_000);
  if (idleMs > absoluteMs) problems.push('SESSION_IDLE_TIMEOUT: must not be longer than SESSION_ABSOLUTE_LIFETIME');

  const registrationToken = value('OIDC_REGISTRATION_TOKEN');
  if (registrationToken !== undefined && registrationToken.length < 32) bad('OIDC_REGISTRATION_TOKEN', 'must be at least 32 characters');

  const samlEntityId = value('SAML_ENTITY_ID');
  if (samlEntityId !== undefined && samlEntityId.length > 1024) bad('SAML_ENTITY_ID', 'must be at most 1024 characters');

  const outbound = parseOutboundAllow(value('OUTBOUND_ALLOW'));
  for (const problem of outbound.problems) bad('OUTBOUND_ALLOW', `${problem}; give comma-separated CIDRs and host names`);

  const logLevel = (value('LOG_LEVEL') ?? 'info') as LogLevel;
  if (!['silent', 'error', 'warn', 'info', 'debug'].includes(logLevel)) bad('LOG_LEVEL', 'must be silent, error, warn, info or debug');

  const config: Config = {
    publicUrl,
    host: value('HOST') ?? '127.0.0.1',
    port: integer('PORT', 3000, 0, 65535),
    dataDir,
    database: database ?? { type: 'sqlite', path: join(dataDir, 'signoff.sqlite') },
    redisUrl,
    redisPrefix,
    session: { absoluteMs, idleMs, sweepIntervalMs: duration('SESSION_SWEEP_INTERVAL', '60s', 1000) },
    cookieSecret,
    subjectSecret,
    bootstrapAdmin: adminUser && adminPassword ? { username: adminUser, password: adminPassword } : undefined,
    login: { maxFailures: integer('LOGIN_MAX_FAILURES', 5, 1, 1000), lockoutMs: duration('LOGIN_LOCKOUT', '15m', 1000) },
    passwords: { minLength: passwordMinLength },
    keys: { retiredPublishedMs: duration('KEY_RETIRED_PUBLISHED_FOR', '7d', 0), encryptionKey: keyEncryptionKey, previousEncryptionKey: previousKeyEncryptionKey },
    oidc: {
      accessTokenMs: duration('ACCESS_TOKEN_LIFETIME', '1h', 60_000),
      refreshTokenMs: duration('REFRESH_TOKEN_LIFETIME', '30d', 60_000),
      idTokenMs: duration('ID_TOKEN_LIFETIME', '1h', 60_000),
      registrationToken,
      allowHttp: boolean('OIDC_ALLOW_HTTP', false),
    },
    delivery: {
      timeoutMs: duration('DELIVERY_TIMEOUT', '5s', 100),
      attempts: integer('DELIVERY_ATTEMPTS', 8, 1, 100),
      concurrency: integer('DELIVERY_CONCURRENCY', 32, 1, 1000),
      frontchannelTimeoutMs: duration('FRONTCHANNEL_TIMEOUT', '5s', 500),
    },
    outbound: { allow: outbound.allow },
    saml: { entityId: samlEntityId ?? `${publicUrl}/saml/metadata` },
    bodyLimitBytes: integer('BODY_LIMIT_BYTES', 262_144, 1024, 10_485_760),
    trustProxy: boolean('TRUST_PROXY', false),
    logLevel,
  };
  if (problems.length) throw new ConfigError(problems);
  return config;
}

function parseDatabaseUrl(raw: string | undefined, dataDir: string, cwd: string): DatabaseConfig | null {
  if (raw === undefined) return { type: 'sqlite', path: join(dataDir, 'signoff.sqlite') };
  if (/^postgres(ql)?:\/\/[^/]+\/[^/?#]+/.test(raw)) return { type: 'postgres', url: raw };
  const sqlite = /^sqlite:(.+)$/.exec(raw);
  if (sqlite) return { type: 'sqlite', path: isAbsolute(sqlite[1]) ? sqlite[1] : resolve(cwd, sqlite[1]) };
  return null;
}
