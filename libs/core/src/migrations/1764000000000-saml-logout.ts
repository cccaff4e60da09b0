import { type MigrationInterface, type QueryRunner, TableColumn, TableIndex } from 'typeorm';
import { text } from './columns';

/** SP-initiated SAML logout: every SingleLogoutService of an SP, and LogoutResponses matched to deliveries. */
export class SamlLogout1764000000000 implements MigrationInterface {
  name = 'SamlLogout1764000000000';

  async up(q: QueryRunner): Promise<void> {
    // Existing SPs get their one registered endpoint; a metadata re-import would add the rest.
    await q.addColumn('saml_service_providers', new TableColumn(text('sls_endpoints', true)));
    const rows: Array<{
      provider_id: string;
      sls_url: string | null;
      sls_response_url: string | null;
      sls_binding: string | null;
    }> = await q.query(
      'SELECT "provider_id", "sls_url", "sls_response_url", "sls_binding" FROM "saml_service_providers"',
    );
    const pg = q.connection.options.type === 'postgres';
    for (const row of rows) {
      const endpoints =
        row.sls_url && row.sls_binding
          ? [{ binding: row.sls_binding, url: row.sls_url, responseUrl: row.sls_response_url }]
          : [];
      await q.query(
        `UPDATE "saml_service_providers" SET "sls_endpoints" = ${pg ? '$1' : '?'} WHERE "provider_id" = ${pg ? '$2' : '?'}`,
        [JSON.stringify(endpoints), row.provider_id],
      );
    }
    await q.changeColumn('saml_service_providers', 'sls_endpoints', new TableColumn(text('sls_endpoints')));
    await q.createIndex('logout_deliveries', new TableIndex({ columnNames: ['message_id'] }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('logout_deliveries', new TableIndex({ columnNames: ['message_id'] }));
    await q.dropColumn('saml_service_providers', 'sls_endpoints');
  }
}
