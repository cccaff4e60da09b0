import type { EntityManager, EntityTarget, ObjectLiteral } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';
import type { EntityMetadata } from 'typeorm/metadata/EntityMetadata';

/** How one entity class (one kind of a table with inheritance) is built from a row. */
interface Shape {
  metadata: EntityMetadata;
  columns: Array<{ name: string; column: ColumnMetadata }>;
}

/** Per entity: its shape, and per discriminator value the shape of that kind. */
const shapes = new WeakMap<EntityMetadata, { own: Shape; kinds: Map<string, Shape>; discriminator?: string }>();

function shapeOf(metadata: EntityMetadata): Shape {
  // What TypeORM would do and this does not: refused rather than done differently.
  if (metadata.embeddeds.length || metadata.eagerRelations.length || metadata.afterLoadListeners.length)
    throw new Error(`leanEntities builds no embedded columns, eager relations or @AfterLoad (${metadata.name})`);
  return {
    metadata,
    columns: metadata.columns
      .filter((column) => !column.isVirtual && !column.isDiscriminator && column.isSelect)
      .map((column) => ({ name: column.databaseName, column })),
  };
}

/**
 * Entities of `target` from rows read with a raw statement (`SELECT * FROM` its table): each column
 * converted as TypeORM converts it (its type on this driver, its transformer), and for a table with
 * inheritance the row's own kind (OidcSession, SamlSession) by its discriminator. Only columns, no
 * relations; columns TypeORM would not select (`select: false`) are left out as it leaves them, and an
 * entity with what it does not build (embedded columns, eager relations, @AfterLoad) is refused. For
 * reads of thousands of rows on a hot path (a bulk logout, the worker's batches), where the query
 * builder's aliasing and its general hydration cost more than the statement.
 */
export function leanEntities<T extends ObjectLiteral>(
  manager: EntityManager,
  target: EntityTarget<T>,
  rows: Array<Record<string, unknown>>,
): T[] {
  const metadata = manager.connection.getMetadata(target);
  let known = shapes.get(metadata);
  if (!known) {
    known = {
      own: shapeOf(metadata),
      kinds: new Map(metadata.childEntityMetadatas.map((child) => [String(child.discriminatorValue), shapeOf(child)])),
      discriminator: metadata.discriminatorColumn?.databaseName,
    };
    shapes.set(metadata, known);
  }
  const driver = manager.connection.driver;
  const { own, kinds, discriminator } = known;
  return rows.map((row) => {
    const shape = (discriminator && kinds.get(String(row[discriminator]))) || own;
    const entity = shape.metadata.create() as ObjectLiteral;
    for (const { name, column } of shape.columns)
      if (name in row) column.setEntityValue(entity, driver.prepareHydratedValue(row[name], column));
    return entity as T;
  });
}

/**
 * The columns leanEntities reads for `target` (its own, its kinds' for a table with inheritance, and
 * the discriminator), quoted, for a raw statement's select list. A named (prepared) PostgreSQL
 * statement must name them rather than read `*`: once a migration adds a column, a statement already
 * prepared on a pooled connection with `*` fails ("cached plan must not change result type") in every
 * process still running, until its connections are replaced.
 */
export function leanColumns(manager: EntityManager, target: EntityTarget<ObjectLiteral>): string {
  const metadata = manager.connection.getMetadata(target);
  const names = new Set<string>();
  for (const each of [metadata, ...metadata.childEntityMetadatas])
    for (const column of each.columns) if (!column.isVirtual && column.isSelect) names.add(column.databaseName);
  if (metadata.discriminatorColumn) names.add(metadata.discriminatorColumn.databaseName);
  return [...names].map((name) => manager.connection.driver.escape(name)).join(', ');
}
