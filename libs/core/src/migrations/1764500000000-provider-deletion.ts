import { type MigrationInterface, type QueryRunner, TableColumn } from 'typeorm';
import { instant } from './columns';

/**
 * `providers.deleted_at`: an application deleted while logout deliveries to it are still open stays,
 * disabled and hidden, until they are final; the row is removed then (deleting it at once would
 * delete its deliveries with it: logout_deliveries.provider_id cascades).
 */
export class ProviderDeletion1764500000000 implements MigrationInterface {
  name = 'ProviderDeletion1764500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn('providers', new TableColumn(instant('deleted_at', true)));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('providers', 'deleted_at');
  }
}
