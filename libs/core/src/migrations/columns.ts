import { type QueryRunner, type TableColumnOptions, TableForeignKey } from 'typeorm';

// Column shapes shared by the migrations, matching the entity decorators (database/columns.ts).

export const id = (name = 'id'): TableColumnOptions => ({ name, type: 'varchar', length: '36', isPrimary: true });
export const ref = (name: string, nullable = false): TableColumnOptions => ({
  name,
  type: 'varchar',
  length: '36',
  isNullable: nullable,
});
export const instant = (name: string, nullable = false): TableColumnOptions => ({
  name,
  type: 'bigint',
  isNullable: nullable,
});
export const varchar = (name: string, length: number, extra: Partial<TableColumnOptions> = {}): TableColumnOptions => ({
  name,
  type: 'varchar',
  length: String(length),
  isNullable: false,
  ...extra,
});
export const nullableVarchar = (name: string, length: number) => varchar(name, length, { isNullable: true });
export const text = (name: string, nullable = false, defaultSql?: string): TableColumnOptions => ({
  name,
  type: 'text',
  isNullable: nullable,
  ...(defaultSql === undefined ? {} : { default: defaultSql }),
});
export const integer = (name: string, extra: Partial<TableColumnOptions> = {}): TableColumnOptions => ({
  name,
  type: 'integer',
  isNullable: false,
  ...extra,
});
export const fk = (column: string, table: string, onDelete: 'CASCADE' | 'SET NULL' = 'CASCADE') =>
  new TableForeignKey({ columnNames: [column], referencedTableName: table, referencedColumnNames: ['id'], onDelete });

/** SQLite has no boolean literal: TypeORM writes entity defaults there as 1/0, so the migrations must too. */
export function booleanColumn(q: QueryRunner) {
  const pg = q.connection.options.type === 'postgres';
  return (name: string, value: boolean): TableColumnOptions => ({
    name,
    type: 'boolean',
    isNullable: false,
    default: pg ? value : Number(value),
  });
}

/** Inserts seed rows with plain SQL (entity metadata is today's shape, not this migration's). */
export async function insertRow(q: QueryRunner, table: string, row: Record<string, unknown>): Promise<void> {
  const columns = Object.keys(row);
  const pg = q.connection.options.type === 'postgres';
  const placeholders = columns.map((_, i) => (pg ? `$${i + 1}` : '?'));
  await q.query(
    `INSERT INTO "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) VALUES (${placeholders.join(', ')})`,
    Object.values(row),
  );
}
