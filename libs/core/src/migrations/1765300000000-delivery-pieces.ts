import { type MigrationInterface, type QueryRunner, Table } from 'typeorm';
import { fk, instant, integer, ref, text } from './columns';

/**
 * `logout_delivery_pieces`: the deliveries of a bulk logout that its transaction writes as a few JSON
 * pieces instead of rows, turned into rows right after the commit (LogoutDeliveryPiece). Empty
 * between logouts; deleted with their operation.
 */
export class DeliveryPieces1765300000000 implements MigrationInterface {
  name = 'DeliveryPieces1765300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'logout_delivery_pieces',
        columns: [
          { ...ref('operation_id'), isPrimary: true },
          integer('piece', { isPrimary: true }),
          text('rows'),
          integer('attempts'),
          text('attempt_log'),
          instant('created_at'),
          instant('updated_at'),
        ],
        foreignKeys: [fk('operation_id', 'logout_operations')],
      }),
      true,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('logout_delivery_pieces');
  }
}
