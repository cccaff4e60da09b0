import {
  type CanActivate,
  createParamDecorator,
  type ExecutionContext,
  ForbiddenException,
  Injectable,
  UnauthorizedException,
  UnsupportedMediaTypeException,
} from '@nestjs/common';
import type { Actor, ApiToken, User } from '@signoff/core';
import { IdpSessionsService } from '@signoff/sessions';
import type { Request } from 'express';
import { BrowserService } from '../http/browser.service';
import { ApiTokensService } from './api-tokens.service';

/** The administrator, how they authenticated, and the API token when they used one. */
export interface AdminCaller {
  user: User;
  viaCookie: boolean;
  token?: ApiToken;
}

type AdminRequest = Request & { admin?: AdminCaller };

const SAFE_METHODS = ['GET', 'HEAD', 'OPTIONS'];

/**
 * The admin API accepts a Bearer API token or an administrator's browser session. Cookie-authenticated
 * changes must also carry the CSRF token in X-CSRF-Token (GET /api/v1/me hands it out), and request
 * bodies must be JSON: a cross-site form can do neither.
 */
@Injectable()
export class AdminGuard implements CanActivate {
  constructor(
    private readonly tokens: ApiTokensService,
    private readonly browser: BrowserService,
    private readonly sessions: IdpSessionsService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<AdminRequest>();
    const authorization = req.header('authorization');
    let user: User | null;
    let token: ApiToken | undefined;
    if (authorization !== undefined) {
      const bearer = /^Bearer ([A-Za-z0-9_-]{16,128})$/i.exec(authorization);
      token = (bearer ? await this.tokens.authenticate(bearer[1]) : null) ?? undefined;
      user = token?.user ?? null;
      if (!user) throw new UnauthorizedException('The API token is invalid, expired or revoked.');
      if (!token!.scopes.includes('admin'))
        throw new ForbiddenException(
          `This API token may not use the admin API: its scopes are ${token!.scopes.join(', ')}.`,
        );
    } else {
      const browserId = this.browser.read(req);
      user = (browserId ? await this.sessions.current(browserId) : null)?.user ?? null;
      if (!user)
        throw new UnauthorizedException('Send an API token as a Bearer token, or sign in as an administrator.');
      if (!SAFE_METHODS.includes(req.method)) this.browser.checkCsrf(browserId, req.header('x-csrf-token'));
    }
    if (!user.isAdmin) throw new ForbiddenException('Only administrators may use this API.');
    if (!SAFE_METHODS.includes(req.method) && hasBody(req) && !req.is('application/json')) {
      throw new UnsupportedMediaTypeException('Send request bodies as application/json.');
    }
    req.admin = { user, viaCookie: authorization === undefined, token };
    return true;
  }
}

const hasBody = (req: Request) =>
  Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;

/** The acting administrator, for audit events. */
export const AdminActor = createParamDecorator((_: unknown, context: ExecutionContext): Actor => {
  const admin = context.switchToHttp().getRequest<AdminRequest>().admin!;
  return { type: 'admin', id: admin.user.id };
});

/** The administrator and how they authenticated. */
export const CurrentAdmin = createParamDecorator(
  (_: unknown, context: ExecutionContext) => context.switchToHttp().getRequest<AdminRequest>().admin!,
);
