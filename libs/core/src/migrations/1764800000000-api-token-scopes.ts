import { type MigrationInterface, type QueryRunner, TableColumn } from 'typeorm';
import { text } from './columns';

/**
 * `api_tokens.scopes`: what a token may do, a JSON array. `admin` is the admin API (every token made
 * before had it, and keeps it); `global_token_revocation` is POST /oauth2/global-token-revocation only,
 * for a security tool that must be able to end a user's access and nothing else.
 */
export class ApiTokenScopes1764800000000 implements MigrationInterface {
  name = 'ApiTokenScopes1764800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn('api_tokens', new TableColumn(text('scopes', false, `'["admin"]'`)));
  }

  async down(q: QueryRunner): Promise<void> {
    // Without the column every token is an admin token: revoke those that were not, rather than promote them.
    await q.query(
      `UPDATE api_tokens SET revoked_at = ${Date.now()} WHERE revoked_at IS NULL AND scopes NOT LIKE '%"admin"%'`,
    );
    await q.dropColumn('api_tokens', 'scopes');
  }
}
