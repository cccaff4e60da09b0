import { isAbsolute, join, resolve } from 'node:path';
import { PASSWORD_MIN_LENGTH_FLOOR, passwordProblem } from '../crypto/password-policy';
import { type Env, EnvReader } from './env-reader';
import { type OutboundAllow, parseOutboundAllow } from '../outbound/outbound-policy';
import { returnUrlProblem } from '../http/return-urls';

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
  delivery: {
    timeoutMs: number;
    attempts: number;
    concurrency: number;
    /** Deliveries per job, at most (DELIVERY_BATCH_SIZE): one claim, one read of their targets. */
    batchSize: number;
    frontchannelTimeoutMs: number;
  };
  /** What server-side requests may reach beyond public addresses (OUTBOUND_ALLOW; see outbound/outbound-policy.ts). */
  outbound: { allow: OutboundAllow };
  /**
   * Where `/logout?return_to=` may send the browser after a logout, whichever application asked
   * (LOGOUT_RETURN_URLS): exact URLs, or with one wildcard label (see http/return-urls.ts).
   */
  logoutReturnUrls: string[];
  /**
   * entityId: the IdP's SAML entityID. scope: the security domain of scoped attributes
   * (`username@scope`: subject-id, eduPersonPrincipalName), published in the IdP metadata as
   * shibmd:Scope.
   */
  saml: { entityId: string; scope: string };
  /**
   * validForMs: how far ahead the IdP metadata's validUntil lies (SAML_METADATA_VALID_FOR).
   * refreshMs: how often the worker refreshes SP metadata fetched from a URL (SAML_METADATA_REFRESH;
   * sooner when the metadata's cacheDuration says so).
   */
  samlMetadata: { validForMs: number; refreshMs: number };
  /**
   * Shared Signals (docs/shared-signals.md). pollMaxEvents / pollMaxAgeMs: the events a poll stream
   * keeps unacknowledged (SSF_POLL_MAX_EVENTS, SSF_POLL_MAX_AGE; beyond, the oldest end `dead`).
   * longPollMs: how long a poll waits for an event (SSF_LONG_POLL_TIMEOUT). minVerificationIntervalMs:
   * SSF_MIN_VERIFICATION_INTERVAL, published as min_verification_interval (SSF 1.0 §8.1.1).
   */
  ssf: { pollMaxEvents: number; pollMaxAgeMs: number; longPollMs: number; minVerificationIntervalMs: number };
  /**
   * Prometheus metrics (docs/operations.md). token: METRICS_TOKEN, the bearer token `/metrics` asks
   * for; unset, the idp's public port does not serve `/metrics` at all (404). port and host:
   * METRICS_PORT and METRICS_HOST (default 127.0.0.1), a listener of its own serving only `/metrics`
   * and `/healthz` (the worker's only HTTP); port undefined: no such listener.
   */
  metrics: { token: string | undefined; port: number | undefined; host: string };
  bodyLimitBytes: number;
  trustProxy: boolean;
  logLevel: LogLevel;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/**
 * Reads and validates the configuration; throws a ConfigError listing every bad value at once.
 * The problems are listed in the order the values are read here, so keep that order.
 */
export function loadConfig(env: Env, cwd = process.cwd()): Config {
  const read = new EnvReader(env);
  const publicUrl = readPublicUrl(read);
  const { dataDir, database } = readDatabase(read, cwd);
  const { redisUrl, redisPrefix } = readRedis(read);
  const secrets = readSecrets(read);
  const { bootstrapAdmin, passwords } = readPasswords(read);
  const lifetimes = readSessionLifetimes(read);
  const registrationToken = read.secret('OIDC_REGISTRATION_TOKEN');
  const saml = readSaml(read, publicUrl);
  const outbound = readOutbound(read);
  const logoutReturnUrls = readLogoutReturnUrls(read);
  const metrics = readMetrics(read);
  const logLevel = readLogLevel(read);
  const config: Config = {
    publicUrl,
    host: read.value('HOST') ?? '127.0.0.1',
    port: read.integer('PORT', 3000, 0, 65535),
    dataDir,
    database,
    redisUrl,
    redisPrefix,
    session: { ...lifetimes, sweepIntervalMs: read.duration('SESSION_SWEEP_INTERVAL', '60s', 1000) },
    cookieSecret: secrets.cookieSecret,
    subjectSecret: secrets.subjectSecret,
    bootstrapAdmin,
    login: {
      maxFailures: read.integer('LOGIN_MAX_FAILURES', 5, 1, 1000),
      lockoutMs: read.duration('LOGIN_LOCKOUT', '15m', 1000),
    },
    passwords,
    keys: { retiredPublishedMs: read.duration('KEY_RETIRED_PUBLISHED_FOR', '7d', 0), ...secrets.keys },
    oidc: readOidc(read, registrationToken),
    delivery: readDelivery(read),
    outbound,
    logoutReturnUrls,
    saml,
    samlMetadata: {
      validForMs: read.duration('SAML_METADATA_VALID_FOR', '7d', 3_600_000),
      refreshMs: read.duration('SAML_METADATA_REFRESH', '6h', 60_000),
    },
    ssf: {
      pollMaxEvents: read.integer('SSF_POLL_MAX_EVENTS', 10_000, 1, 1_000_000),
      pollMaxAgeMs: read.duration('SSF_POLL_MAX_AGE', '7d', 60_000),
      longPollMs: read.duration('SSF_LONG_POLL_TIMEOUT', '15s', 0),
      minVerificationIntervalMs: read.duration('SSF_MIN_VERIFICATION_INTERVAL', '10s', 0),
    },
    bodyLimitBytes: read.integer('BODY_LIMIT_BYTES', 262_144, 1024, 10_485_760),
    trustProxy: read.boolean('TRUST_PROXY', false),
    metrics,
    logLevel,
  };
  if (read.problems.length) throw new ConfigError(read.problems);
  return config;
}

function readPublicUrl(read: EnvReader): string {
  const given = read.value('PUBLIC_URL') ?? 'http://127.0.0.1:3000';
  try {
    const url = new URL(given);
    if (!['http:', 'https:'].includes(url.protocol) || url.search || url.hash || url.username) throw new Error();
    return url.href.replace(/\/$/, '');
  } catch {
    read.bad('PUBLIC_URL', 'must be an absolute http(s) URL without query, fragment or credentials');
    return given;
  }
}

function readDatabase(read: EnvReader, cwd: string): Pick<Config, 'dataDir' | 'database'> {
  const dataDir = resolve(cwd, read.value('DATA_DIR') ?? 'data');
  const database = parseDatabaseUrl(read.value('DATABASE_URL'), dataDir, cwd);
  if (!database) read.bad('DATABASE_URL', 'must be postgres://user:pass@host:port/db or sqlite:<file path>');
  return { dataDir, database: database ?? { type: 'sqlite', path: join(dataDir, 'signoff.sqlite') } };
}

function readRedis(read: EnvReader): Pick<Config, 'redisUrl' | 'redisPrefix'> {
  const redisUrl = read.value('REDIS_URL');
  if (redisUrl !== undefined && !/^(rediss?:\/\/.+|unix:\/\/\/.+)$/.test(redisUrl)) {
    read.bad('REDIS_URL', 'must be redis://host:port[/db], rediss://… or unix:///path/to/redis.sock');
  }
  const redisPrefix = read.value('REDIS_PREFIX') ?? 'signoff';
  if (!/^[a-zA-Z0-9_-]{1,40}$/.test(redisPrefix)) read.bad('REDIS_PREFIX', 'must be 1-40 letters, digits, _ or -');
  return { redisUrl, redisPrefix };
}

/** The secrets that are generated into dataDir when unset (see secrets.ts). */
function readSecrets(read: EnvReader) {
  const cookieSecret = read.secret('COOKIE_SECRET');
  const encryptionKey = read.secret('KEY_ENCRYPTION_KEY');
  const previousEncryptionKey = read.secret('KEY_ENCRYPTION_KEY_PREVIOUS');
  if (previousEncryptionKey !== undefined && encryptionKey === undefined)
    read.problem('KEY_ENCRYPTION_KEY_PREVIOUS: set KEY_ENCRYPTION_KEY (the new key) as well');
  const subjectSecret = read.secret('SUBJECT_SECRET');
  return { cookieSecret, subjectSecret, keys: { encryptionKey, previousEncryptionKey } };
}

/** The password policy, and the first administrator, whose password meets it like every other new password. */
function readPasswords(read: EnvReader): Pick<Config, 'bootstrapAdmin' | 'passwords'> {
  const username = read.value('BOOTSTRAP_ADMIN_USERNAME');
  const password = read.untrimmed('BOOTSTRAP_ADMIN_PASSWORD');
  if ((username === undefined) !== (password === undefined))
    read.problem('BOOTSTRAP_ADMIN_USERNAME and BOOTSTRAP_ADMIN_PASSWORD: set both or neither');
  const minLength = read.integer('PASSWORD_MIN_LENGTH', 12, PASSWORD_MIN_LENGTH_FLOOR, 128);
  const problem = password === undefined ? null : passwordProblem(password, minLength);
  if (problem) read.problem(`BOOTSTRAP_ADMIN_PASSWORD: ${problem}`);
  return { bootstrapAdmin: username && password ? { username, password } : undefined, passwords: { minLength } };
}

function readSessionLifetimes(read: EnvReader): { absoluteMs: number; idleMs: number } {
  const absoluteMs = read.duration('SESSION_ABSOLUTE_LIFETIME', '12h', 60_000);
  const idleMs = read.duration('SESSION_IDLE_TIMEOUT', '2h', 60_000);
  if (idleMs > absoluteMs) read.problem('SESSION_IDLE_TIMEOUT: must not be longer than SESSION_ABSOLUTE_LIFETIME');
  return { absoluteMs, idleMs };
}

function readSaml(read: EnvReader, publicUrl: string): Config['saml'] {
  const entityId = read.value('SAML_ENTITY_ID');
  if (entityId !== undefined && entityId.length > 1024) read.bad('SAML_ENTITY_ID', 'must be at most 1024 characters');
  return { entityId: entityId ?? `${publicUrl}/saml/metadata`, scope: readSamlScope(read, publicUrl) };
}

/**
 * A DNS-name-like scope (SAML V2.0 Subject Identifier Attributes Profile §3.3: 1-127 letters, digits,
 * `-` and `.`, starting with a letter or digit; here also in lower case, as the profile recommends,
 * with no empty label and no label starting or ending with `-`). Unset: the host of PUBLIC_URL.
 */
function readSamlScope(read: EnvReader, publicUrl: string): string {
  const given = read.value('SAML_SCOPE');
  let scope = given?.toLowerCase();
  if (scope === undefined) {
    try {
      scope = new URL(publicUrl).hostname;
    } catch {
      return ''; // PUBLIC_URL is already reported
    }
  }
  const label = '[a-z0-9](?:[a-z0-9-]*[a-z0-9])?';
  if (scope.length <= 127 && new RegExp(`^${label}(?:\\.${label})*$`).test(scope)) return scope;
  if (given !== undefined) read.bad('SAML_SCOPE', 'must be a DNS name such as example.org (letters, digits, - and .)');
  else read.problem(`SAML_SCOPE: set it; the host of PUBLIC_URL (${scope}) is not a DNS name a scope can be`);
  return scope;
}

function readOutbound(read: EnvReader): Config['outbound'] {
  const { allow, problems } = parseOutboundAllow(read.value('OUTBOUND_ALLOW'));
  for (const problem of problems) read.bad('OUTBOUND_ALLOW', `${problem}; give comma-separated CIDRs and host names`);
  return { allow };
}

/** LOGOUT_RETURN_URLS: comma-separated; each entry must pass returnUrlProblem (https, at most one wildcard label). */
function readLogoutReturnUrls(read: EnvReader): string[] {
  const entries = (read.value('LOGOUT_RETURN_URLS') ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  for (const entry of entries) {
    const problem = returnUrlProblem(entry);
    if (problem) read.bad('LOGOUT_RETURN_URLS', `${entry} ${problem}`);
  }
  return entries;
}

/** METRICS_TOKEN (a secret, SECRET_MIN_LENGTH characters at least), METRICS_PORT and METRICS_HOST. */
function readMetrics(read: EnvReader): Config['metrics'] {
  const token = read.secret('METRICS_TOKEN');
  const port = read.value('METRICS_PORT') === undefined ? undefined : read.integer('METRICS_PORT', 0, 0, 65535);
  const host = read.value('METRICS_HOST') ?? '127.0.0.1';
  if (port !== undefined && port !== 0 && port === Number(read.value('PORT') ?? 3000))
    read.problem('METRICS_PORT: must differ from PORT (the metrics listener is a server of its own)');
  return { token, port, host };
}

function readLogLevel(read: EnvReader): LogLevel {
  const logLevel = (read.value('LOG_LEVEL') ?? 'info') as LogLevel;
  if (!['silent', 'error', 'warn', 'info', 'debug'].includes(logLevel))
    read.bad('LOG_LEVEL', 'must be silent, error, warn, info or debug');
  return logLevel;
}

function readOidc(read: EnvReader, registrationToken: string | undefined): Config['oidc'] {
  return {
    accessTokenMs: read.duration('ACCESS_TOKEN_LIFETIME', '1h', 60_000),
    refreshTokenMs: read.duration('REFRESH_TOKEN_LIFETIME', '30d', 60_000),
    idTokenMs: read.duration('ID_TOKEN_LIFETIME', '1h', 60_000),
    registrationToken,
    allowHttp: read.boolean('OIDC_ALLOW_HTTP', false),
  };
}

function readDelivery(read: EnvReader): Config['delivery'] {
  return {
    timeoutMs: read.duration('DELIVERY_TIMEOUT', '5s', 100),
    attempts: read.integer('DELIVERY_ATTEMPTS', 8, 1, 100),
    concurrency: read.integer('DELIVERY_CONCURRENCY', 32, 1, 1000),
    batchSize: read.integer('DELIVERY_BATCH_SIZE', 250, 1, 1000),
    frontchannelTimeoutMs: read.duration('FRONTCHANNEL_TIMEOUT', '5s', 500),
  };
}

function parseDatabaseUrl(raw: string | undefined, dataDir: string, cwd: string): DatabaseConfig | null {
  if (raw === undefined) return { type: 'sqlite', path: join(dataDir, 'signoff.sqlite') };
  if (/^postgres(ql)?:\/\/[^/]+\/[^/?#]+/.test(raw)) return { type: 'postgres', url: raw };
  const sqlite = /^sqlite:(.+)$/.exec(raw);
  if (sqlite) return { type: 'sqlite', path: isAbsolute(sqlite[1]) ? sqlite[1] : resolve(cwd, sqlite[1]) };
  return null;
}
