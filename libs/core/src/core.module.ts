import { type DynamicModule, Global, Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AuditService } from './audit/audit.service';
import { Clock } from './clock/clock';
import type { Config } from './config/config';
import { CONFIG, COOKIE_SECRET, SUBJECT_SECRET } from './config/config.tokens';
import { ensureCookieSecret, ensureSubjectSecret } from './config/secrets';
import { openDatabase } from './database/data-source';
import { KeysService } from './keys/keys.service';
import { Metrics } from './metrics/metrics';
import { OutboundPolicy } from './outbound/outbound-policy';
import { PendingStore } from './redis/pending-store';
import { ReadinessProbe } from './health/readiness';
import { RedisService } from './redis/redis.service';
import { ReplayCache } from './redis/replay-cache';
import { GroupsService } from './users/groups.service';
import { UsersService } from './users/users.service';

@Injectable()
class DatabaseLifecycle implements OnApplicationShutdown {
  constructor(@Inject(DataSource) private readonly db: DataSource) {}
  async onApplicationShutdown(): Promise<void> {
    if (this.db.isInitialized) await this.db.destroy();
  }
}

export interface CoreOptions {
  /** Tests pass a ManualClock to move time. */
  clock?: Clock;
  /**
   * Wait for a PostgreSQL that cannot be reached at start instead of failing (the server and the
   * worker do; the CLI fails at once); a function also hears why, at each try (see openDatabase).
   */
  waitForDatabase?: boolean | ((reason: string) => void);
}

/** Configuration, database (migrated at start), keys, users and audit: what every process needs. */
@Global()
@Module({})
export class CoreModule {
  static forRoot(config: Config, options: CoreOptions = {}): DynamicModule {
    return {
      module: CoreModule,
      providers: [
        { provide: CONFIG, useValue: config },
        { provide: COOKIE_SECRET, useFactory: () => ensureCookieSecret(config) },
        { provide: SUBJECT_SECRET, useFactory: () => ensureSubjectSecret(config) },
        { provide: Clock, useValue: options.clock ?? new Clock() },
        { provide: DataSource, useFactory: () => openDatabase(config, options.waitForDatabase) },
        { provide: OutboundPolicy, useValue: OutboundPolicy.fromConfig(config) },
        DatabaseLifecycle,
        KeysService,
        AuditService,
        UsersService,
        GroupsService,
        Metrics,
      ],
      exports: [
        CONFIG,
        COOKIE_SECRET,
        SUBJECT_SECRET,
        Clock,
        DataSource,
        OutboundPolicy,
        KeysService,
        AuditService,
        UsersService,
        GroupsService,
        Metrics,
      ],
    };
  }
}

/**
 * The Redis connections of a process that serves HTTP or runs the worker (the CLI needs none), and
 * what is kept there: pending requests (PendingStore) and first-use markers (ReplayCache).
 */
@Global()
@Module({})
export class RedisModule {
  static forRoot(config: Config): DynamicModule {
    return {
      module: RedisModule,
      providers: [
        { provide: RedisService, useFactory: () => RedisService.create(config) },
        PendingStore,
        ReplayCache,
        ReadinessProbe,
      ],
      exports: [RedisService, PendingStore, ReplayCache, ReadinessProbe],
    };
  }
}
