import { type MigrationInterface, type QueryRunner, Table, TableIndex } from 'typeorm';
import { fk, ref } from './columns';

/**
 * Which users each logout operation is about (`logout_operation_users`), so the admin console can list
 * a user's logouts without reading every operation's JSON list of IdP sessions. The orchestrator
 * writes the rows with the operation; operations from before are filled in here from the IdP sessions
 * they name. What this cannot recover: users an operation ended only the grants of (a deactivation or
 * password change while no session was live names no session), so those older rows have no user.
 */
export class LogoutOperationUsers1764400000000 implements MigrationInterface {
  name = 'LogoutOperationUsers1764400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'logout_operation_users',
        columns: [
          { ...ref('operation_id'), isPrimary: true },
          { ...ref('user_id'), isPrimary: true },
        ],
        foreignKeys: [fk('operation_id', 'logout_operations'), fk('user_id', 'users')],
      }),
      true,
    );
    await q.createIndex('logout_operation_users', new TableIndex({ columnNames: ['user_id'] }));

    // idp_session_ids is simple-json text: a JSON array of ids. Sessions long deleted simply add nobody.
    const sessionIds =
      q.connection.options.type === 'postgres'
        ? `CROSS JOIN LATERAL json_array_elements_text(o."idp_session_ids"::json) AS j(value)`
        : `CROSS JOIN json_each(o."idp_session_ids") AS j`;
    await q.query(
      `INSERT INTO "logout_operation_users" ("operation_id", "user_id")
       SELECT DISTINCT o."id", s."user_id" FROM "logout_operations" o ${sessionIds}
       JOIN "idp_sessions" s ON s."id" = j.value`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('logout_operation_users');
  }
}
