import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../config/config';
import { SHUTDOWN_STEP_MS, within } from '../lifecycle/within';
import { EmbeddedRedis } from './embedded-redis';

/** ioredis options for a REDIS_URL (redis://, rediss:// or unix:///path). */
export function redisOptions(url: string): RedisOptions & { path?: string } {
  if (url.startsWith('unix://')) return { path: url.slice('unix://'.length) };
  const parsed = new URL(url);
  return {
    host: parsed.hostname,
    port: Number(parsed.port || 6379),
    username: decodeURIComponent(parsed.username) || undefined,
    password: decodeURIComponent(parsed.password) || undefined,
    db: Number(parsed.pathname.slice(1) || 0),
    tls: parsed.protocol === 'rediss:' ? {} : undefined,
  };
}

/** A Redis URL fit for a log line: without its credentials. */
function where(url: string): string {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'unix:' ? `unix://${parsed.pathname}` : `${parsed.protocol}//${parsed.host}`;
  } catch {
    return 'an unparsable REDIS_URL';
  }
}

/** How long a start waits for Redis's first answer (the connection's own connect timeout). */
const FIRST_ANSWER_WAIT_MS = 2000;

/**
 * Redis connections of this process. `client` fails fast (a request made while Redis is down errors
 * instead of hanging); `connection()` makes the blocking-capable connections BullMQ wants.
 * Made by `RedisService.create` (the provider factory of RedisModule).
 */
export class RedisService implements OnApplicationShutdown {
  readonly client: Redis;
  private readonly opened: Redis[] = [];
  private readonly logger = new Logger('Redis');
  /** The last connection error while Redis is away; null while it answers. */
  private down: string | null = null;

  private constructor(
    private readonly config: Config,
    readonly url: string,
    private readonly embedded?: EmbeddedRedis,
  ) {
    this.client = this.open({
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      connectTimeout: FIRST_ANSWER_WAIT_MS,
    });
    // This connection reconnects for as long as Redis is away: an outage (at start too, where the
    // worker waits for Redis) is logged once, and its end once; /readyz says why meanwhile.
    this.client.on('error', (error: Error) => {
      if (this.down === null)
        this.logger.warn({ msg: `Redis at ${where(url)} is unreachable; waiting for it`, error: error.message });
      this.down = error.message;
    });
    this.client.on('ready', () => {
      if (this.down !== null) this.logger.log({ msg: `Redis at ${where(url)} is reachable again` });
      this.down = null;
    });
  }

  /** Why Redis cannot be reached (its connection's last error), or null while it can. */
  get unreachable(): string | null {
    return this.down;
  }

  /**
   * The service, once its fail-fast connection has connected or failed once (at most
   * FIRST_ANSWER_WAIT_MS): `client` has no offline queue, so a request served before it first
   * connected would fail for nothing (a process that had just started answered 500); an unreachable
   * Redis does not hold the start (/readyz says why, and the connection keeps trying).
   */
  static async create(config: Config): Promise<RedisService> {
    let service: RedisService;
    if (config.redisUrl) service = new RedisService(config, config.redisUrl);
    else {
      const embedded = await EmbeddedRedis.start(config.dataDir);
      const logger = new Logger('EmbeddedRedis');
      embedded.supervise((level, event) => (level === 'warn' ? logger.warn(event) : logger.log(event)));
      service = new RedisService(config, embedded.url, embedded);
    }
    await service.firstAnswer();
    return service;
  }

  private firstAnswer(): Promise<void> {
    if (this.client.status === 'ready') return Promise.resolve();
    return new Promise((resolve) => {
      const answered = () => {
        clearTimeout(timer);
        this.client.off('ready', answered);
        this.client.off('error', answered);
        resolve();
      };
      const timer = setTimeout(answered, FIRST_ANSWER_WAIT_MS);
      this.client.once('ready', answered);
      this.client.once('error', answered);
    });
  }

  /** A new connection for BullMQ queues and workers (maxRetriesPerRequest must be null there). */
  connection(): Redis {
    const connection = this.open({ maxRetriesPerRequest: null });
    connection.on('error', () => undefined);
    return connection;
  }

  /** A key in this deployment's namespace. */
  key(...parts: string[]): string {
    return [this.config.redisPrefix, ...parts].join(':');
  }

  /**
   * The Redis server's `run_id` (INFO server): it changes when the server restarts, which, without
   * persistence, means everything it held is gone. Null when Redis does not answer.
   */
  async runId(): Promise<string | null> {
    try {
      return /^run_id:(\w+)/m.exec(await this.client.info('server'))?.[1] ?? null;
    } catch {
      return null;
    }
  }

  async ping(): Promise<boolean> {
    try {
      return (await this.client.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    // QUIT waits for Redis to answer; an unreachable Redis gets a plain disconnect instead.
    await Promise.all(
      this.opened.map(async (redis) => {
        if (
          !(await within(
            SHUTDOWN_STEP_MS,
            redis.quit().then(() => true),
            false,
          ))
        )
          redis.disconnect();
      }),
    );
    await this.embedded?.stop();
  }

  private open(options: RedisOptions): Redis {
    const redis = new Redis({ ...redisOptions(this.url), ...options });
    this.opened.push(redis);
    return redis;
  }
}
