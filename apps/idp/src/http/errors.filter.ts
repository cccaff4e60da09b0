import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { isDatabaseAway, isUniqueViolation, ProtocolError, requestContext, SignoffError } from '@signoff/core';
import type { Request, Response } from 'express';
import { errorPage } from './errors.pages';

const CODES: Record<number, string> = {
  400: 'invalid_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'too_many_requests',
  500: 'server_error',
  503: 'temporarily_unavailable',
};
const TITLES: Record<number, string> = {
  400: 'Bad request',
  401: 'Not signed in',
  403: 'Not allowed',
  404: 'Not found',
  409: 'Conflict',
  413: 'Request too large',
  415: 'Unsupported request',
  429: 'Too many attempts',
  503: 'Temporarily unavailable',
};

/**
 * OAuth endpoints no browser visits, and the SSF endpoints (`/ssf/…`): every refusal is
 * {error, error_description}, whatever came first.
 */
const JSON_ONLY_OAUTH = ['/oauth2/global-token-revocation'];

/** Errors as JSON for the API and JSON clients, as a page for browsers; 5xx details are logged, never shown. */
@Catch()
export class ErrorsFilter implements ExceptionFilter {
  private readonly logger = new Logger('errors');

  catch(thrown: unknown, host: ArgumentsHost): void {
    const req = host.switchToHttp().getRequest<Request>();
    const res = host.switchToHttp().getResponse<Response>();
    const exception = asRefusal(thrown);
    const status = statusOf(exception);
    const { message, details } = describe(exception, status);
    if (status >= 500)
      this.logger.error({ msg: 'request failed', error: String(thrown), stack: (thrown as Error)?.stack });
    if (res.headersSent) return;
    if (exception instanceof ProtocolError) {
      // RFC 6749 §5.2 (and SSF after it): {error, error_description}, whatever the client accepts.
      for (const [name, value] of Object.entries(exception.headers)) res.setHeader(name, value);
      res.status(status).json({ error: exception.error, error_description: exception.description });
      return;
    }
    // Express routes are case-insensitive and take a trailing slash: so is this.
    const path = req.path.toLowerCase().replace(/\/+$/, '');
    if ((JSON_ONLY_OAUTH.includes(path) || path.startsWith('/ssf/')) && status < 500) {
      // A refusal before the endpoint's own checks (a body that is not JSON, or too large): still §5.2's shape.
      res.status(status).json({ error: CODES[status] ?? 'invalid_request', error_description: message });
      return;
    }
    const requestId = requestContext.getStore()?.requestId;
    const wantsJson = req.path.startsWith('/api/') || req.accepts(['html', 'json']) === 'json';
    if (status === 401 && req.path.startsWith('/api/')) res.setHeader('WWW-Authenticate', 'Bearer realm="signoff"');
    if (wantsJson) {
      // `error` is the status's generic code (as it has always been); `code` the refusal's own stable code.
      const code = exception instanceof SignoffError ? { code: exception.code } : {};
      res
        .status(status)
        .json({ error: CODES[status] ?? 'error', ...code, message, ...(details ? { details } : {}), requestId });
    } else {
      const title = TITLES[status] ?? (status >= 500 ? 'Something went wrong' : 'Error');
      res
        .status(status)
        .type('html')
        .send(errorPage(title, message, requestId));
    }
  }
}

/**
 * What the database says of a request that is not a fault here, as the refusal it is: a key another
 * request took at the same moment (both checked it was free) is a 409 `conflict`, a database that is
 * away for now (a restart) a 503 `temporarily_unavailable`. Neither says more about the database.
 */
export function asRefusal(exception: unknown): unknown {
  if (isUniqueViolation(exception))
    return new SignoffError('conflict', 'This conflicts with a change made at the same moment: reload, and try again.');
  if (isDatabaseAway(exception))
    return new SignoffError('temporarily_unavailable', 'The database cannot be reached just now: try again shortly.');
  return exception;
}

function statusOf(exception: unknown): number {
  if (exception instanceof HttpException) return exception.getStatus();
  if (exception instanceof SignoffError) return exception.status;
  // Errors raised by express's body parsers carry their own 4xx status.
  const status = (exception as { status?: unknown })?.status;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : HttpStatus.INTERNAL_SERVER_ERROR;
}

function describe(exception: unknown, status: number): { message: string; details?: unknown } {
  if (status >= 500)
    return { message: status === 503 ? String((exception as Error).message) : 'An unexpected error occurred.' };
  if (exception instanceof SignoffError) return { message: exception.message, details: exception.details };
  if (exception instanceof HttpException) {
    const body = exception.getResponse();
    if (typeof body === 'string') return { message: body };
    const { message, details } = body as { message?: unknown; details?: unknown };
    return { message: Array.isArray(message) ? message.join('; ') : String(message ?? exception.message), details };
  }
  const type = (exception as { type?: string }).type;
  if (type === 'entity.too.large') return { message: 'The request body is too large.' };
  if (type === 'entity.parse.failed') return { message: 'The request body is not valid JSON.' };
  return { message: (exception as Error).message ?? 'Bad request.' };
}
