import { Column, type ValueTransformer } from 'typeorm';

// Instants are stored as epoch milliseconds in a bigint column: one type that behaves the same in
// SQLite and PostgreSQL, with no time zone to get wrong.
const epochMs: ValueTransformer = {
  to: (value: Date | null | undefined) => (value instanceof Date ? value.getTime() : value),
  from: (value: string | number | null) => (value === null || value === undefined ? null : new Date(Number(value))),
};

export function InstantColumn(options: { nullable?: boolean } = {}): PropertyDecorator {
  return Column({ type: 'bigint', nullable: options.nullable ?? false, transformer: epochMs });
}

/** A JSON value in a text column (portable between SQLite and PostgreSQL). */
export function JsonColumn(options: { nullable?: boolean; default?: string } = {}): PropertyDecorator {
  return Column({ type: 'simple-json', nullable: options.nullable ?? false, default: options.default });
}
