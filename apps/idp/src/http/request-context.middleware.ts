import { Logger } from '@nestjs/common';
import { randomToken, requestContext } from '@signoff/core';
import type { NextFunction, Request, Response } from 'express';

const logger = new Logger('http');
const INCOMING_ID = /^[A-Za-z0-9._:-]{8,64}$/;

/**
 * Gives every request an id (the caller's X-Request-Id when well formed), makes it and the client
 * address visible to logs and audit events, sets Cache-Control (security headers: security-headers.ts), and logs one
 * line per response. The path is logged without its query: queries can carry codes and tokens.
 */
export function requestContextMiddleware(req: Request, res: Response, next: NextFunction): void {
  const incoming = req.header('x-request-id');
  const requestId = incoming && INCOMING_ID.test(incoming) ? incoming : randomToken(12);
  const started = process.hrtime.bigint();
  res.setHeader('X-Request-Id', requestId);
  res.setHeader('Cache-Control', 'no-store');
  res.on('finish', () => {
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    requestContext.run({ requestId, ip: req.ip }, () =>
      logger.log({
        msg: 'request',
        method: req.method,
        path: req.path,
        status: res.statusCode,
        ms: Math.round(ms * 10) / 10,
      }),
    );
  });
  requestContext.run({ requestId, ip: req.ip }, next);
}
