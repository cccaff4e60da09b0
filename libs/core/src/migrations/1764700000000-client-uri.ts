import { type MigrationInterface, type QueryRunner, TableColumn } from 'typeorm';
import { text } from './columns';

/**
 * `oidc_clients.client_uri` (RFC 7591 §2): a web page about the client, which the user's home page
 * links to for each application they are signed in to. Null for every client registered before.
 */
export class ClientUri1764700000000 implements MigrationInterface {
  name = 'ClientUri1764700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn('oidc_clients', new TableColumn(text('client_uri', true)));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('oidc_clients', 'client_uri');
  }
}
