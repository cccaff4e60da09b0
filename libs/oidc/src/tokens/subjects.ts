import { Inject, Injectable } from '@nestjs/common';
import { type OidcClient, SUBJECT_SECRET } from '@signoff/core';
import { createHmac } from 'node:crypto';

/**
 * The `sub` each client sees for a user (OIDC Core §8). Public: the user's id, the same for every
 * client. Pairwise (§8.1): an HMAC-SHA256, under SUBJECT_SECRET, of the client's sector identifier
 * and the user's id, so clients of different sectors cannot link their users, and nobody without
 * the secret can recompute or reverse it.
 */
@Injectable()
export class SubjectsService {
  constructor(@Inject(SUBJECT_SECRET) private readonly secret: string) {}

  subjectFor(client: Pick<OidcClient, 'subjectType' | 'sectorIdentifier'>, userId: string): string {
    if (client.subjectType !== 'pairwise') return userId;
    return createHmac('sha256', this.secret)
      .update(`oidc-pairwise\0${client.sectorIdentifier}\0${userId}`)
      .digest('base64url');
  }
}
