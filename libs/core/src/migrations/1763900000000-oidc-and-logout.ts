import { type MigrationInterface, type QueryRunner, Table, TableColumn, TableForeignKey, TableIndex } from 'typeorm';
import { booleanColumn, fk, id, insertRow, instant, integer, nullableVarchar, ref, text, varchar } from './columns';

// Fixed ids of the seeded flows and stages, so every deployment can name them the same way.
export const DEFAULT_FLOWS = {
  invalidation: '00000000-0000-4000-8000-00000000f001',
  providerInvalidation: '00000000-0000-4000-8000-00000000f002',
};
const STAGES = {
  userLogout: '00000000-0000-4000-8000-00000000e001',
  providerLogout: '00000000-0000-4000-8000-00000000e002',
};

export class OidcAndLogout1763900000000 implements MigrationInterface {
  name = 'OidcAndLogout1763900000000';

  async up(q: QueryRunner): Promise<void> {
    const bool = booleanColumn(q);

    await q.createTable(
      new Table({
        name: 'flows',
        columns: [id(), varchar('slug', 64, { isUnique: true }), varchar('name', 200), instant('created_at')],
      }),
      true,
    );
    await q.createTable(
      new Table({
        name: 'stages',
        columns: [
          id(),
          varchar('name', 64, { isUnique: true }),
          varchar('kind', 24),
          text('config'),
          instant('created_at'),
        ],
      }),
      true,
    );
    await q.createTable(
      new Table({
        name: 'flow_stage_bindings',
        columns: [id(), ref('flow_id'), ref('stage_id'), integer('order')],
        indices: [
          new TableIndex({ columnNames: ['flow_id', 'order'], isUnique: true }),
          new TableIndex({ columnNames: ['stage_id'] }),
        ],
        foreignKeys: [fk('flow_id', 'flows'), fk('stage_id', 'stages')],
      }),
      true,
    );

    await q.addColumn('providers', new TableColumn(ref('invalidation_flow_id', true)));
    await q.createForeignKey(
      'providers',
      new TableForeignKey({
        columnNames: ['invalidation_flow_id'],
        referencedTableName: 'flows',
        referencedColumnNames: ['id'],
        onDelete: 'SET NULL',
      }),
    );
    // No release before this one could create OIDC clients, so the table is empty: no default needed.
    await q.addColumn('oidc_clients', new TableColumn(text('grant_types')));

    await q.createTable(
      new Table({
        name: 'logout_operations',
        columns: [
          id(),
          varchar('trigger', 24),
          varchar('initiator_type', 16),
          nullableVarchar('initiator_id', 64),
          ref('initiating_provider_id', true),
          text('idp_session_ids'),
          instant('created_at'),
          instant('completed_at', true),
          nullableVarchar('outcome', 16),
        ],
        indices: [new TableIndex({ columnNames: ['created_at'] })],
      }),
      true,
    );
    await q.createTable(
      new Table({
        name: 'logout_deliveries',
        columns: [
          id(),
          ref('operation_id'),
          ref('provider_session_id'),
          ref('provider_id'),
          varchar('channel', 32),
          varchar('status', 16),
          integer('attempts', { default: 0 }),
          instant('next_attempt_at', true),
          instant('lease_until', true),
          integer('last_http_status', { isNullable: true }),
          text('last_error', true),
          text('attempt_log'),
          nullableVarchar('message_id', 128),
          instant('created_at'),
          instant('updated_at'),
          instant('completed_at', true),
        ],
        indices: [
          new TableIndex({ columnNames: ['provider_session_id', 'channel'], isUnique: true }),
          new TableIndex({ columnNames: ['status', 'lease_until'] }),
          new TableIndex({ columnNames: ['operation_id', 'status'] }),
          new TableIndex({ columnNames: ['provider_id'] }),
        ],
        foreignKeys: [
          fk('operation_id', 'logout_operations'),
          fk('provider_session_id', 'provider_sessions'),
          fk('provider_id', 'providers'),
        ],
      }),
      true,
    );

    await q.createTable(
      new Table({
        name: 'authorization_codes',
        columns: [
          { name: 'code_hash', type: 'varchar', length: '64', isPrimary: true },
          ref('provider_id'),
          ref('user_id'),
          ref('idp_session_id'),
          text('redirect_uri'),
          varchar('scope', 1000),
          nullableVarchar('nonce', 512),
          nullableVarchar('code_challenge', 128),
          instant('auth_time'),
          instant('expires_at'),
          instant('redeemed_at', true),
        ],
      }),
      true,
    );
    for (const table of ['access_tokens', 'refresh_tokens']) {
      const refresh = table === 'refresh_tokens';
      await q.createTable(
        new Table({
          name: table,
          columns: [
            id(),
            varchar('token_hash', 64, { isUnique: true }),
            ref('provider_id'),
            ref('user_id'),
            ref('oidc_session_id', true),
            nullableVarchar('code_hash', 64),
            varchar('scope', 1000),
            instant('created_at'),
            instant('expires_at'),
            instant('revoked_at', true),
            ...(refresh ? [bool('offline_access', false), instant('auth_time')] : []),
          ],
          indices: [
            new TableIndex({ columnNames: ['provider_id'] }),
            new TableIndex({ columnNames: ['oidc_session_id'] }),
            new TableIndex({ columnNames: ['code_hash'] }),
          ],
        }),
        true,
      );
    }

    const now = Date.now();
    const insert = (table: string, row: Record<string, unknown>) => insertRow(q, table, row);
    await insert('stages', {
      id: STAGES.userLogout,
      name: 'default-user-logout',
      kind: 'user_logout',
      config: '{}',
      created_at: now,
    });
    await insert('stages', {
      id: STAGES.providerLogout,
      name: 'default-provider-logout',
      kind: 'provider_logout',
      config: '{}',
      created_at: now,
    });
    await insert('flows', {
      id: DEFAULT_FLOWS.invalidation,
      slug: 'default-invalidation-flow',
      name: 'Logout at Signoff: end the session everywhere',
      created_at: now,
    });
    await insert('flows', {
      id: DEFAULT_FLOWS.providerInvalidation,
      slug: 'default-provider-invalidation-flow',
      name: 'Logout started by an application: end the session everywhere',
      created_at: now,
    });
    await insert('flow_stage_bindings', {
      id: '00000000-0000-4000-8000-00000000b001',
      flow_id: DEFAULT_FLOWS.invalidation,
      stage_id: STAGES.userLogout,
      order: 10,
    });
    await insert('flow_stage_bindings', {
      id: '00000000-0000-4000-8000-00000000b002',
      flow_id: DEFAULT_FLOWS.providerInvalidation,
      stage_id: STAGES.userLogout,
      order: 10,
    });
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of [
      'refresh_tokens',
      'access_tokens',
      'authorization_codes',
      'logout_deliveries',
      'logout_operations',
    ])
      await q.dropTable(table);
    await q.dropColumn('oidc_clients', 'grant_types');
    const providers = await q.getTable('providers');
    const flowFk = providers!.foreignKeys.find((key) => key.columnNames.includes('invalidation_flow_id'));
    if (flowFk) await q.dropForeignKey('providers', flowFk);
    await q.dropColumn('providers', 'invalidation_flow_id');
    for (const table of ['flow_stage_bindings', 'stages', 'flows']) await q.dropTable(table);
  }
}
