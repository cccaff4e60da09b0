import { type MigrationInterface, type QueryRunner, Table, TableColumn } from 'typeorm';
import { booleanColumn, instant, nullableVarchar, ref, varchar } from './columns';

const PERSISTENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent';

/**
 * Tokens bound to their IdP session (access tokens learn whether they are offline), pairwise `sub`
 * per client (existing clients stay public: their subs never change), and the record of persistent
 * NameIDs issued to SPs, backfilled from the SAML sessions so that none of them ever changes.
 */
export class OidcHardening1764200000000 implements MigrationInterface {
  name = 'OidcHardening1764200000000';

  async up(q: QueryRunner): Promise<void> {
    const bool = booleanColumn(q);
    const pg = q.connection.options.type === 'postgres';
    await q.addColumn('access_tokens', new TableColumn(bool('offline_access', false)));
    // Access tokens an offline_access grant issued after its session ended keep working, as they did.
    await q.query(`UPDATE "access_tokens" SET "offline_access" = ${pg ? 'true' : '1'} WHERE ' ' || "scope" || ' ' LIKE '% offline_access %'
      AND "oidc_session_id" IN (SELECT "id" FROM "provider_sessions" WHERE "ended_at" IS NOT NULL)`);
    await q.addColumn('oidc_clients', new TableColumn(varchar('subject_type', 8, { default: "'public'" })));
    await q.addColumn('oidc_clients', new TableColumn(nullableVarchar('sector_identifier', 255)));
    await q.createTable(
      new Table({
        name: 'saml_persistent_ids',
        columns: [
          { ...ref('provider_id'), isPrimary: true },
          { ...ref('user_id'), isPrimary: true },
          varchar('name_id', 255),
          instant('created_at'),
        ],
      }),
      true,
    );
    await q.query(
      `INSERT INTO "saml_persistent_ids" ("provider_id", "user_id", "name_id", "created_at")
      SELECT "provider_id", "user_id", MIN("name_id"), MIN("created_at") FROM "provider_sessions"
      WHERE "kind" = 'saml' AND "name_id_format" = ${pg ? '$1' : '?'} GROUP BY "provider_id", "user_id"`,
      [PERSISTENT],
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('saml_persistent_ids');
    await q.dropColumn('oidc_clients', 'sector_identifier');
    await q.dropColumn('oidc_clients', 'subject_type');
    await q.dropColumn('access_tokens', 'offline_access');
  }
}
