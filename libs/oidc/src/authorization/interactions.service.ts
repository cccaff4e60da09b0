import { Injectable } from '@nestjs/common';
import { randomToken, RedisService } from '@signoff/core';
import type { AuthorizationRequest } from './authorization-request';

const TTL_SECONDS = 15 * 60;

/** An authorization request waiting for the user (login page, account chooser), kept in Redis for 15 minutes. */
export interface Interaction {
  request: AuthorizationRequest;
  createdAt: number;
  /** The account the user picked in the chooser. */
  selectedSessionId?: string;
}

@Injectable()
export class InteractionsService {
  constructor(private readonly redis: RedisService) {}

  async save(interaction: Interaction, id = randomToken(16)): Promise<string> {
    await this.redis.client.set(this.redis.key('authz', id), JSON.stringify(interaction), 'EX', TTL_SECONDS);
    return id;
  }

  async load(id: unknown): Promise<Interaction | null> {
    if (typeof id !== 'string' || !/^[A-Za-z0-9_-]{22}$/.test(id)) return null;
    const raw = await this.redis.client.get(this.redis.key('authz', id));
    return raw ? (JSON.parse(raw) as Interaction) : null;
  }

  async remove(id: string): Promise<void> {
    await this.redis.client.del(this.redis.key('authz', id));
  }
}
