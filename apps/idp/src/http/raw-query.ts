import type { Request } from 'express';

/** The request's query string exactly as received (without the `?`): for parsers that must see every octet. */
export function rawQuery(req: Request): string {
  const at = req.originalUrl.indexOf('?');
  return at < 0 ? '' : req.originalUrl.slice(at + 1);
}
