import { HttpException } from '@nestjs/common';
import { SignoffError } from '@signoff/core';
import type { FormProblem } from './console-layout';

/**
 * Reading HTML forms and saying what was wrong with them. A console form is validated by the same lib
 * code as the API call it stands for; a refusal (4xx) becomes the form again with the message and,
 * where the refusal names a field ("email: must be an email address"), that problem beside the field.
 * Anything else (5xx) is no input problem and goes on to the ErrorsFilter.
 */
export function formProblem(error: unknown): FormProblem | null {
  let message: string;
  let details: unknown;
  let code: string | undefined;
  if (error instanceof SignoffError && error.status < 500) {
    message = error.message;
    details = error.details;
    code = error.code;
  } else if (error instanceof HttpException && error.getStatus() < 500) {
    const body = error.getResponse();
    message = typeof body === 'string' ? body : String((body as { message?: unknown }).message ?? error.message);
    details = typeof body === 'string' ? undefined : (body as { details?: unknown }).details;
  } else {
    return null;
  }
  const listed = Array.isArray(details) ? details.filter((item): item is string => typeof item === 'string') : [];
  const fields: Record<string, string> = {};
  for (const detail of listed) {
    // "email: must be …" (schemas, profile checks), or with the OAuth error code first, as client
    // metadata refusals say it: "invalid_redirect_uri: redirect_uris[0]: must not have a fragment".
    const named = /^(?:invalid_[a-z_]+: )?([A-Za-z_][\w.]*?)(?:\[\d+\])?: (.+)$/.exec(detail);
    if (named) fields[named[1]] ??= named[2];
  }
  return { message, code, details: listed, fields };
}

/** The HTTP status a refused form is answered with: what the lib said (400, 409), never 2xx. */
export function problemStatus(error: unknown): number {
  if (error instanceof SignoffError) return error.status;
  if (error instanceof HttpException) return error.getStatus();
  return 400;
}

/** A form's fields: single strings only (a repeated field or a missing one reads as undefined). */
export type FormBody = Record<string, unknown>;

/** A text field, trimmed; empty reads as undefined (the field was left blank). */
export function text(body: FormBody, name: string): string | undefined {
  const value = body[name];
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

/** A text field that may be cleared: blank reads as null (remove the value), absent as undefined (leave it). */
export function clearable(body: FormBody, name: string): string | null | undefined {
  if (!(name in body)) return undefined;
  return text(body, name) ?? null;
}

/** A check box: present means checked. */
export const checked = (body: FormBody, name: string): boolean => body[name] === 'on';

/** Every value of a field that may repeat (several check boxes of one name). */
export function all(body: FormBody, name: string): string[] {
  const value = body[name];
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

/** Drops the keys whose value is undefined: what the API would have received from a JSON client. */
export const defined = <T extends Record<string, unknown>>(object: T): Partial<T> =>
  Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as Partial<T>;
