import { Injectable } from '@nestjs/common';
import { PendingStore } from '@signoff/core';
import type { AuthorizationRequest } from './authorization-request';

const KIND = 'authz';
const TTL_SECONDS = 15 * 60;

/** An authorization request waiting for the user (login page, account chooser), kept in Redis for 15 minutes. */
export interface Interaction {
  request: AuthorizationRequest;
  createdAt: number;
  /** The account the user picked in the chooser. */
  selectedSessionId?: string;
  /**
   * The IdP session whose user allowed this request on the consent page (asked once, even with
   * prompt=consent). A session id, not a flag: the handle travels through the login page, and an
   * answer counts only for the account that gave it, never for whoever resumes the handle.
   */
  consentGivenBy?: string;
}

@Injectable()
export class InteractionsService {
  constructor(private readonly store: PendingStore) {}

  /** Keeps the interaction (under `id` when it goes on under the handle the browser holds) and returns its handle. */
  async save(interaction: Interaction, id?: string): Promise<string> {
    if (id === undefined) return this.store.put(KIND, interaction, TTL_SECONDS);
    await this.store.save(KIND, id, interaction, TTL_SECONDS);
    return id;
  }

  /** Null for a malformed, unknown or expired handle (it comes from the browser). */
  load(id: unknown): Promise<Interaction | null> {
    return this.store.peek<Interaction>(KIND, id);
  }

  remove(id: string): Promise<void> {
    return this.store.drop(KIND, id);
  }
}
