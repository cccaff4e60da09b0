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

/**
 * Redis connections of this process. `client` fails fast (a request made while Redis is down errors
 * instead of hanging); `connection()` makes the blocking-capable connections BullMQ wants.
 * Made by `RedisService.create` (the provider factory of RedisModule).
 */
export class RedisService implements OnApplicationShutdown {
  readonly client: Redis;
  private readonly opened: Redis[] = [];

  private constructor(
    private readonly config: Config,
    readonly url: string,
    private readonly embedded?: EmbeddedRedis,
  ) {
    this.client = this.open({ maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000 });
    this.client.on('error', () => undefined); // reported by /readyz and by the calls that fail
  }

  static async create(config: Config): Promise<RedisService> {
    if (config.redisUrl) return new RedisService(config, config.redisUrl);
    const embedded = await EmbeddedRedis.start(config.dataDir);
    const logger = new Logger('EmbeddedRedis');
    embedded.supervise((level, event) => (level === 'warn' ? logger.warn(event) : logger.log(event)));
    return new RedisService(config, embedded.url, embedded);
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
