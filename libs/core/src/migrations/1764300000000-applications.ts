import { type MigrationInterface, type QueryRunner, Table, TableColumn, TableIndex } from 'typeorm';
import { booleanColumn, fk, id, instant, nullableVarchar, ref, text, varchar } from './columns';

/** What SPs got before profiles existed: three basic attributes, kept for SPs already registered (an upgrade changes no assertion). */
const LEGACY_ATTRIBUTES = JSON.stringify([
  { name: 'email', nameFormat: 'basic', from: 'email' },
  { name: 'username', nameFormat: 'basic', from: 'username' },
  { name: 'name', nameFormat: 'basic', from: 'name' },
]);

/**
 * Identity real applications consume: the user's profile (given and family name, email verified),
 * groups, SAML attribute profiles and mappings per SP, logout return URLs, assertion encryption and
 * metadata from a URL per SP, and OIDC consent for third-party clients. SPs registered before this
 * keep the three attributes they were sent (as mappings) and gain the standard profile beside them.
 */
export class Applications1764300000000 implements MigrationInterface {
  name = 'Applications1764300000000';

  async up(q: QueryRunner): Promise<void> {
    const bool = booleanColumn(q);
    await q.addColumn('users', new TableColumn(bool('email_verified', false)));
    await q.addColumn('users', new TableColumn(nullableVarchar('given_name', 100)));
    await q.addColumn('users', new TableColumn(nullableVarchar('family_name', 100)));

    await q.createTable(
      new Table({
        name: 'groups',
        columns: [
          id(),
          varchar('name', 64, { isUnique: true }),
          nullableVarchar('description', 200),
          instant('created_at'),
          instant('updated_at'),
        ],
      }),
      true,
    );
    await q.createTable(
      new Table({
        name: 'group_members',
        columns: [
          { ...ref('group_id'), isPrimary: true },
          { ...ref('user_id'), isPrimary: true },
          instant('created_at'),
        ],
        foreignKeys: [fk('group_id', 'groups'), fk('user_id', 'users')],
      }),
      true,
    );
    await q.createIndex('group_members', new TableIndex({ columnNames: ['user_id'] }));

    const sp = 'saml_service_providers';
    await q.addColumn(sp, new TableColumn(varchar('attribute_profile', 16, { default: "'standard'" })));
    await q.addColumn(sp, new TableColumn(text('attribute_mappings', false, "'[]'")));
    await q.query(
      `UPDATE "${sp}" SET "attribute_mappings" = ${q.connection.options.type === 'postgres' ? '$1' : '?'}`,
      [LEGACY_ATTRIBUTES],
    );
    await q.addColumn(sp, new TableColumn(varchar('subject_identifier', 16, { default: "'subject-id'" })));
    await q.addColumn(sp, new TableColumn(text('logout_return_urls', false, "'[]'")));
    await q.addColumn(sp, new TableColumn(bool('encrypt_assertions', false)));
    await q.addColumn(sp, new TableColumn(text('encryption_certificates', false, "'[]'")));
    await q.addColumn(sp, new TableColumn(text('metadata_url', true)));
    await q.addColumn(sp, new TableColumn(text('metadata_signing_certificate', true)));
    await q.addColumn(sp, new TableColumn(instant('metadata_refreshed_at', true)));

    await q.addColumn('oidc_clients', new TableColumn(bool('consent_required', false)));
    await q.createTable(
      new Table({
        name: 'oidc_consents',
        columns: [
          { ...ref('user_id'), isPrimary: true },
          { ...ref('provider_id'), isPrimary: true },
          text('scopes'),
          instant('created_at'),
          instant('updated_at'),
        ],
        foreignKeys: [fk('user_id', 'users'), fk('provider_id', 'providers')],
      }),
      true,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('oidc_consents');
    await q.dropColumn('oidc_clients', 'consent_required');
    const sp = 'saml_service_providers';
    for (const column of [
      'metadata_refreshed_at',
      'metadata_signing_certificate',
      'metadata_url',
      'encryption_certificates',
      'encrypt_assertions',
      'logout_return_urls',
      'subject_identifier',
      'attribute_mappings',
      'attribute_profile',
    ]) {
      await q.dropColumn(sp, column);
    }
    await q.dropTable('group_members');
    await q.dropTable('groups');
    for (const column of ['family_name', 'given_name', 'email_verified']) await q.dropColumn('users', column);
  }
}
