import { type MigrationInterface, type QueryRunner, TableColumn } from 'typeorm';
import { booleanColumn } from './columns';

/**
 * SAML LogoutRequests must be signed whenever the SP has a signing certificate, and an SP without one
 * can start a logout only when an administrator allows unsigned requests (profiles §4.4.4.1). Every
 * existing SP gets the new rule: the exception starts off for all of them and must be turned on by hand.
 */
export class SamlLogoutSigning1764100000000 implements MigrationInterface {
  name = 'SamlLogoutSigning1764100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn(
      'saml_service_providers',
      new TableColumn(booleanColumn(q)('allow_unsigned_logout_requests', false)),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('saml_service_providers', 'allow_unsigned_logout_requests');
  }
}
