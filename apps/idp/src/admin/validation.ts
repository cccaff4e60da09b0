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
