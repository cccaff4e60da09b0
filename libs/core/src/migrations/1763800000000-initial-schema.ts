import { type MigrationInterface, type QueryRunner, Table, TableIndex } from 'typeorm';
import { booleanColumn, fk, id, instant, nullableVarchar, ref, text, varchar } from './columns';

// Written with TypeORM's Table API so that one migration serves SQLite and PostgreSQL. Index and
// constraint names are left to the naming strategy, which names them as it names the entities' own.

export class InitialSchema1763800000000 implements MigrationInterface {
  name = 'InitialSchema1763800000000';

  async up(q: QueryRunner): Promise<void> {
    const bool = booleanColumn(q);
    await q.createTable(
      new Table({
        name: 'users',
        columns: [
          id(),
          varchar('username', 64, { isUnique: true }),
          nullableVarchar('email', 254),
          nullableVarchar('name', 200),
          nullableVarchar('password_hash', 255),
          bool('is_active', true),
          bool('is_admin', false),
          instant('created_at'),
          instant('updated_at'),
          instant('deactivated_at', true),
        ],
      }),
      true,
    );

    await q.createTable(
      new Table({
        name: 'idp_sessions',
        columns: [
          id(),
          ref('user_id'),
          varchar('browser_id', 64),
          instant('auth_time'),
          instant('last_seen_at'),
          instant('expires_at'),
          instant('created_at'),
          instant('ended_at', true),
          nullableVarchar('end_reason', 32),
          nullableVarchar('ip', 64),
          nullableVarchar('user_agent', 512),
        ],
        indices: [
          new TableIndex({ columnNames: ['user_id'] }),
          new TableIndex({ columnNames: ['browser_id'] }),
          new TableIndex({ columnNames: ['ended_at'] }),
        ],
        foreignKeys: [fk('user_id', 'users')],
      }),
      true,
    );

    await q.createTable(
      new Table({
        name: 'providers',
        columns: [
          id(),
          varchar('slug', 64, { isUnique: true }),
          varchar('name', 200),
          varchar('protocol', 8),
          bool('enabled', true),
          instant('created_at'),
          instant('updated_at'),
        ],
      }),
      true,
    );

    await q.createTable(
      new Table({
        name: 'oidc_clients',
        columns: [
          id('provider_id'),
          varchar('client_id', 128, { isUnique: true }),
          nullableVarchar('client_secret_hash', 255),
          varchar('token_endpoint_auth_method', 32, { default: "'client_secret_basic'" }),
          text('redirect_uris'),
          text('post_logout_redirect_uris'),
          text('frontchannel_logout_uri', true),
          bool('frontchannel_logout_session_required', false),
          text('backchannel_logout_uri', true),
          bool('backchannel_logout_session_required', false),
          varchar('logout_token_typ', 16, { default: "'logout+jwt'" }),
          varchar('id_token_signed_response_alg', 8, { default: "'RS256'" }),
        ],
        foreignKeys: [fk('provider_id', 'providers')],
      }),
      true,
    );

    await q.createTable(
      new Table({
        name: 'saml_service_providers',
        columns: [
          id('provider_id'),
          varchar('entity_id', 1024, { isUnique: true }),
          text('acs_endpoints'),
          text('sls_url', true),
          text('sls_response_url', true),
          nullableVarchar('sls_binding', 8),
          varchar('logout_method', 24, { default: "'frontchannel_iframe'" }),
          bool('sign_logout_requests', true),
          bool('require_signed_requests', false),
          text('certificates'),
          varchar('name_id_format', 128, { default: "'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent'" }),
          varchar('name_id_source', 16, { default: "'persistent'" }),
          varchar('signature_algorithm', 128, { default: "'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256'" }),
          varchar('digest_algorithm', 128, { default: "'http://www.w3.org/2001/04/xmlenc#sha256'" }),
        ],
        foreignKeys: [fk('provider_id', 'providers')],
      }),
      true,
    );

    await q.createTable(
      new Table({
        name: 'provider_sessions',
        columns: [
          id(),
          ref('idp_session_id'),
          ref('provider_id'),
          ref('user_id'),
          instant('created_at'),
          instant('ended_at', true),
          varchar('state', 16, { default: "'active'" }),
          varchar('kind', 8),
          nullableVarchar('sid', 64),
          nullableVarchar('sub', 255),
          nullableVarchar('session_index', 64),
          nullableVarchar('name_id', 255),
          nullableVarchar('name_id_format', 128),
          nullableVarchar('name_qualifier', 1024),
          nullableVarchar('sp_name_qualifier', 1024),
          instant('session_not_on_or_after', true),
        ],
        indices: [
          new TableIndex({ columnNames: ['idp_session_id'] }),
          new TableIndex({ columnNames: ['provider_id'] }),
          new TableIndex({ columnNames: ['user_id'] }),
          new TableIndex({ columnNames: ['sid'], isUnique: true }),
          new TableIndex({ columnNames: ['session_index'] }),
          new TableIndex({ columnNames: ['kind'] }),
        ],
        foreignKeys: [fk('idp_session_id', 'idp_sessions'), fk('provider_id', 'providers'), fk('user_id', 'users')],
      }),
      true,
    );

    await q.createTable(
      new Table({
        name: 'signing_keys',
        columns: [
          id(),
          varchar('kid', 64, { isUnique: true }),
          varchar('use', 8),
          varchar('alg', 8),
          varchar('state', 8),
          text('private_key_pem'),
          text('public_jwk'),
          text('certificate_pem', true),
          instant('created_at'),
          instant('activated_at', true),
          instant('retired_at', true),
        ],
        indices: [new TableIndex({ columnNames: ['use', 'alg', 'state'] })],
      }),
      true,
    );

    await q.createTable(
      new Table({
        name: 'audit_events',
        columns: [
          id(),
          instant('at'),
          varchar('action', 64),
          varchar('actor_type', 16),
          nullableVarchar('actor_id', 64),
          nullableVarchar('target_type', 32),
          nullableVarchar('target_id', 64),
          nullableVarchar('ip', 64),
          nullableVarchar('request_id', 64),
          text('details', true),
        ],
        indices: [
          new TableIndex({ columnNames: ['at'] }),
          new TableIndex({ columnNames: ['action'] }),
          new TableIndex({ columnNames: ['target_id'] }),
        ],
      }),
      true,
    );

    await q.createTable(
      new Table({
        name: 'api_tokens',
        columns: [
          id(),
          ref('user_id'),
          varchar('name', 100),
          varchar('token_hash', 64, { isUnique: true }),
          instant('created_at'),
          instant('last_used_at', true),
          instant('expires_at', true),
          instant('revoked_at', true),
        ],
        indices: [new TableIndex({ columnNames: ['user_id'] })],
        foreignKeys: [fk('user_id', 'users')],
      }),
      true,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of [
      'api_tokens',
      'audit_events',
      'signing_keys',
      'provider_sessions',
      'saml_service_providers',
      'oidc_clients',
      'providers',
      'idp_sessions',
      'users',
    ]) {
      await q.dropTable(table);
    }
  }
}
