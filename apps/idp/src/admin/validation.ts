import { BadRequestException, NotFoundException, type PipeTransform } from '@nestjs/common';
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv, ['email', 'date-time', 'uri']);

/** Validates a request body against a JSON Schema of schemas.ts; 400 with every problem listed. */
export class JsonBody implements PipeTransform {
  private readonly validate: ValidateFunction;

  constructor(schema: object) {
    this.validate = ajv.compile(schema);
  }

  transform(value: unknown): unknown {
    if (!this.validate(value)) {
      const details = (this.validate.errors ?? []).map((error) => {
        const where = error.instancePath ? error.instancePath.slice(1).replace(/\//g, '.') : 'body';
        const extra =
          error.keyword === 'additionalProperties'
            ? ` (${(error.params as { additionalProperty: string }).additionalProperty})`
            : '';
        return `${where}: ${error.message}${extra}`;
      });
      throw new BadRequestException({ message: 'The request body is invalid.', details });
    }
    return value;
  }
}

/** Ids are UUIDs: anything else names nothing. */
export class IdParam implements PipeTransform {
  transform(value: string): string {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(value))
      throw new NotFoundException('No such resource.');
    return value;
  }
}

export interface Page {
  limit: number;
  offset: number;
}

/** `limit` (1-200, default 50) and `offset` query parameters. */
export function pageOf(query: Record<string, unknown>): Page {
  const read = (key: string, fallback: number, min: number, max: number) => {
    const raw = query[key];
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (typeof raw !== 'string' || !/^\d+$/.test(raw) || n < min || n > max) {
      throw new BadRequestException({ message: `${key} must be a whole number from ${min} to ${max}.` });
    }
    return n;
  };
  return { limit: read('limit', 50, 1, 200), offset: read('offset', 0, 0, 1_000_000) };
}

// The filters of list endpoints, one convention for all: snake_case query parameters, each given at
// most once; an empty value is no filter; a value that cannot be meant is a 400 saying why, never
// silently ignored (a mistyped outcome must not answer "every operation").

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** ISO 8601 (RFC 3339 profile): a date, or a date and time with its offset (a time without one is ambiguous). */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/i;

function queryValue(query: Record<string, unknown>, name: string): string | undefined {
  const raw = query[name];
  if (raw === undefined || raw === '') return undefined;
  if (typeof raw !== 'string') throw new BadRequestException({ message: `${name} must be given once, as one value.` });
  return raw;
}

/** A free-text filter (e.g. `q`), at most `maxLength` characters. */
export function textFilter(query: Record<string, unknown>, name: string, maxLength = 100): string | undefined {
  const value = queryValue(query, name);
  if (value !== undefined && value.length > maxLength)
    throw new BadRequestException({ message: `${name} must be at most ${maxLength} characters.` });
  return value;
}

/** An id filter (`user_id`, `provider_id`): a UUID. */
export function idFilter(query: Record<string, unknown>, name: string): string | undefined {
  const value = queryValue(query, name)?.toLowerCase();
  if (value !== undefined && !UUID.test(value))
    throw new BadRequestException({ message: `${name} must be an id (a UUID).` });
  return value;
}

/** One of a fixed set of values. */
export function enumFilter<T extends string>(
  query: Record<string, unknown>,
  name: string,
  values: readonly T[],
): T | undefined {
  const value = queryValue(query, name);
  if (value !== undefined && !values.includes(value as T))
    throw new BadRequestException({ message: `${name} must be one of: ${values.join(', ')}.` });
  return value as T | undefined;
}

/** An instant in ISO 8601: `2025-01-31` (midnight UTC) or `2025-01-31T12:00:00Z` / `…+01:00`. */
export function instantFilter(query: Record<string, unknown>, name: string): Date | undefined {
  const value = queryValue(query, name);
  if (value === undefined) return undefined;
  const at = ISO_INSTANT.test(value) && realDate(value) ? new Date(value) : null;
  if (!at || Number.isNaN(at.getTime()))
    throw new BadRequestException({
      message: `${name} must be an ISO 8601 date or date-time with an offset, such as 2025-01-31 or 2025-01-31T12:00:00Z.`,
    });
  return at;
}

/** Whether the value's calendar date exists: JavaScript reads 2025-02-30 as March 2. */
function realDate(value: string): boolean {
  const [year, month, day] = value.slice(0, 10).split('-').map(Number);
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

/** `since` (inclusive) and `until` (exclusive), in ISO 8601; since must come before until. */
export function periodFilter(query: Record<string, unknown>): { since?: Date; until?: Date } {
  const since = instantFilter(query, 'since');
  const until = instantFilter(query, 'until');
  if (since && until && since.getTime() >= until.getTime())
    throw new BadRequestException({ message: 'since must be before until.' });
  return { since, until };
}
