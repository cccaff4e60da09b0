import { type MigrationInterface, type QueryRunner, TableIndex } from 'typeorm';

const TABLE = 'logout_deliveries';
/**
 * The index's condition as this migration writes it, for ever (the entity's ANSWERED_ROW must say the
 * same: schema-and-keys checks; should the answered channels change, a new migration changes the index).
 */
export const ANSWERED_ROW_1765200000000 = "channel IN ('frontchannel_saml_iframe', 'frontchannel_saml_native')";

/**
 * `logout_deliveries.message_id` is indexed only for the rows an application's answer settles
 * (the SAML front channels, whose LogoutResponse names the request it answers). A
 * back-channel delivery sets message_id at every attempt (its logout token's jti, its SOAP request's
 * ID) and nothing ever looks it up: with the whole column indexed, each of those writes an index entry
 * (PostgreSQL: a record's update is never written in place, so every index gets an entry; SQLite: the
 * index on the changed column). Measured on PostgreSQL (a copy of the table, 5,000 results recorded
 * in one statement): 74 → 68 ms of server time.
 */
export class AnsweredMessageIndex1765200000000 implements MigrationInterface {
  name = 'AnsweredMessageIndex1765200000000';

  async up(q: QueryRunner): Promise<void> {
    await replace(
      q,
      { where: undefined },
      new TableIndex({ columnNames: ['message_id'], where: ANSWERED_ROW_1765200000000 }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await replace(q, { where: ANSWERED_ROW_1765200000000 }, new TableIndex({ columnNames: ['message_id'] }));
  }
}

/** Drops the index on message_id with (or without) `where`, and creates `index`. */
async function replace(q: QueryRunner, old: { where: string | undefined }, index: TableIndex): Promise<void> {
  const table = (await q.getTable(TABLE))!;
  const found = table.indices.find(
    (candidate) =>
      candidate.columnNames.length === 1 &&
      candidate.columnNames[0] === 'message_id' &&
      Boolean(candidate.where) === Boolean(old.where),
  );
  if (found) await q.dropIndex(table, found);
  await q.createIndex(TABLE, index);
}
