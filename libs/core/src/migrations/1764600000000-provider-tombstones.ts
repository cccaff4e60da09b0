import { type MigrationInterface, type QueryRunner, TableColumn } from 'typeorm';
import { nullableVarchar } from './columns';

/**
 * A deleted application stays as a tombstone for good, no longer purged: its logout deliveries are the
 * history of the operations it took part in (logout_deliveries.provider_id cascades, so removing the
 * row would remove them). Its unique identifiers are released at deletion instead: slug, client_id and
 * entityID become `<original, cut to fit>~deleted~<provider id>`. `oidc_clients.original_client_id`
 * keeps the client_id a deleted client had, since logout tokens still going out to its sessions must
 * name it as `aud`.
 *
 * Applications deleted before this migration and not yet purged are made tombstones here the same way
 * (their secret hash and consents go too, as at a deletion now). `down` drops the column only: the
 * tombstones keep their renamed identifiers, since a new registration may hold the originals by then.
 */
export class ProviderTombstones1764600000000 implements MigrationInterface {
  name = 'ProviderTombstones1764600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn('oidc_clients', new TableColumn(nullableVarchar('original_client_id', 128)));
    // `||` and substr(text, from, count) mean the same on SQLite and PostgreSQL; ids are 36 characters,
    // so the mark and the id take 45 of each column's length (64, 128, 1024).
    const deleted = `SELECT "id" FROM "providers" WHERE "deleted_at" IS NOT NULL`;
    await q.query(
      `UPDATE "oidc_clients" SET "original_client_id" = "client_id", "client_secret_hash" = NULL,
         "client_id" = substr("client_id", 1, 83) || '~deleted~' || "provider_id"
       WHERE "provider_id" IN (${deleted}) AND "original_client_id" IS NULL`,
    );
    await q.query(
      `UPDATE "saml_service_providers" SET "entity_id" = substr("entity_id", 1, 979) || '~deleted~' || "provider_id"
       WHERE "provider_id" IN (${deleted}) AND "entity_id" NOT LIKE '%~deleted~%'`,
    );
    await q.query(`DELETE FROM "oidc_consents" WHERE "provider_id" IN (${deleted})`);
    await q.query(
      `UPDATE "providers" SET "enabled" = ${q.connection.options.type === 'postgres' ? 'false' : '0'},
         "slug" = substr("slug", 1, 19) || '~deleted~' || "id"
       WHERE "deleted_at" IS NOT NULL AND "slug" NOT LIKE '%~deleted~%'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('oidc_clients', 'original_client_id');
  }
}
