import { BadRequestException } from '@nestjs/common';

/** A query or form field given at most once: its text, or null when absent or empty (an error when `required`). */
export function singleField(value: unknown, name: string, required = false): string | null {
  if (value === undefined || value === '') {
    if (required) throw new BadRequestException(`${name} is missing.`);
    return null;
  }
  if (typeof value !== 'string') throw new BadRequestException(`${name} must be given once.`);
  return value;
}
