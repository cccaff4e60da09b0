import { type MigrationInterface, type QueryRunner, Table, TableColumn, TableIndex } from 'typeorm';
import { fk, instant, nullableVarchar, ref, text, varchar } from './columns';

/**
 * Shared Signals (SSF 1.0): `ssf_receivers` (a receiver an administrator registered, with its one
 * stream) and `ssf_removed_subjects`; logout deliveries may now carry a security event to a stream
 * instead of telling a provider session (`provider_session_id` nullable, `event` the SET's claims).
 */
export class SharedSignals1764900000000 implements MigrationInterface {
  name = 'SharedSignals1764900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'ssf_receivers',
        columns: [
          { ...ref('provider_id'), isPrimary: true },
          varchar('token_hash', 64, { isUnique: true }),
          varchar('audience', 1024),
          varchar('subject_format', 16),
          nullableVarchar('stream_id', 36),
          nullableVarchar('stream_status', 16),
          text('stream_status_reason', true),
          nullableVarchar('delivery_method', 32),
          text('endpoint_url', true),
          text('authorization_header', true),
          text('events_requested', true),
          text('description', true),
          instant('stream_created_at', true),
          instant('stream_updated_at', true),
          instant('last_verification_at', true),
          instant('created_at'),
        ],
        foreignKeys: [fk('provider_id', 'providers')],
      }),
      true,
    );
    await q.createIndex('ssf_receivers', new TableIndex({ columnNames: ['stream_id'], isUnique: true }));
    await q.createTable(
      new Table({
        name: 'ssf_removed_subjects',
        columns: [
          { ...ref('provider_id'), isPrimary: true },
          varchar('subject', 512, { isPrimary: true }),
          instant('created_at'),
        ],
      }),
      true,
    );
    await nullable(q, true);
    await q.addColumn('logout_deliveries', new TableColumn(text('event', true)));
  }

  async down(q: QueryRunner): Promise<void> {
    // Security events have no provider session to keep them under the old schema: they go.
    await q.query(`DELETE FROM "logout_deliveries" WHERE "provider_session_id" IS NULL`);
    await q.dropColumn('logout_deliveries', 'event');
    await nullable(q, false);
    await q.dropTable('ssf_removed_subjects');
    await q.dropTable('ssf_receivers');
    await q.query(`DELETE FROM "providers" WHERE "protocol" = 'ssf'`);
  }
}

/**
 * `logout_deliveries.provider_session_id` NULL or NOT NULL, its rows, index and foreign key kept.
 * PostgreSQL: ALTER COLUMN (TypeORM's changeColumn there would drop and re-add the column, emptying
 * it, as it reads the column's type as "character varying", not "varchar"). SQLite cannot alter a
 * column: changeColumn rebuilds the table, copying every row.
 */
async function nullable(q: QueryRunner, allowNull: boolean): Promise<void> {
  if (q.connection.options.type === 'postgres') {
    await q.query(
      `ALTER TABLE "logout_deliveries" ALTER COLUMN "provider_session_id" ${allowNull ? 'DROP' : 'SET'} NOT NULL`,
    );
    return;
  }
  await q.changeColumn(
    'logout_deliveries',
    'provider_session_id',
    new TableColumn(ref('provider_session_id', allowNull)),
  );
}
