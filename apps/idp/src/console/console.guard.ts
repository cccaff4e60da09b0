import {
  type ArgumentsHost,
  Catch,
  type CanActivate,
  createParamDecorator,
  type ExceptionFilter,
  type ExecutionContext,
  ForbiddenException,
  HttpStatus,
  Injectable,
} from '@nestjs/common';
import type { Actor, User } from '@signoff/core';
import { IdpSessionsService } from '@signoff/sessions';
import type { Request, Response } from 'express';
import { BrowserService } from '../http/browser.service';
import { safeReturnTo } from '../http/return-to';

/** The administrator looking at the console, and what every console page needs of them. */
export interface ConsoleAdmin {
  user: User;
  /** For audit events. */
  actor: Actor;
  /** The CSRF token the console's forms carry. */
  csrf: string;
}

type ConsoleRequest = Request & { consoleAdmin?: ConsoleAdmin };

/** Thrown by ConsoleGuard when nobody is signed in on this browser; SignInFirst turns it into the login page. */
export class ConsoleSignInRequired extends Error {
  constructor(readonly returnTo: string) {
    super('sign in first');
  }
}

/**
 * The console is for administrators signed in with this browser: nobody signed in goes to the login
 * page and comes back; a signed-in user who is not an administrator gets 403. Every POST carries the
 * CSRF token in its `csrf` field (layout.tsx's Form puts it there), so a form on another site cannot
 * act with the administrator's cookie. API tokens are not accepted here: they are for /api/v1.
 */
@Injectable()
export class ConsoleGuard implements CanActivate {
  constructor(
    private readonly browser: BrowserService,
    private readonly sessions: IdpSessionsService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<ConsoleRequest>();
    const browserId = this.browser.read(req);
    const session = browserId ? await this.sessions.current(browserId) : null;
    if (req.method === 'POST')
      this.browser.checkCsrf(browserId, (req.body as Record<string, unknown> | undefined)?.csrf);
    if (!session) throw new ConsoleSignInRequired(req.method === 'GET' ? req.originalUrl : '/admin');
    if (!session.user.isAdmin) throw new ForbiddenException('Only administrators may use the console.');
    // A live region refetching its page (live-region.js) is not the administrator at work: an unattended page must not keep the session from idling out.
    if (req.header('x-live-refresh') !== '1') await this.sessions.touch(session);
    req.consoleAdmin = {
      user: session.user,
      actor: { type: 'admin', id: session.user.id },
      csrf: this.browser.csrfToken(browserId!),
    };
    return true;
  }
}

/** Sends whoever is not signed in to the login page, which brings them back to the page they asked for. */
@Catch(ConsoleSignInRequired)
export class SignInFirst implements ExceptionFilter {
  catch(exception: ConsoleSignInRequired, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    res.redirect(HttpStatus.SEE_OTHER, `/login?return_to=${encodeURIComponent(safeReturnTo(exception.returnTo))}`);
  }
}

/** The administrator of this console request (ConsoleGuard put them there). */
export const Admin = createParamDecorator(
  (_: unknown, context: ExecutionContext): ConsoleAdmin =>
    context.switchToHttp().getRequest<ConsoleRequest>().consoleAdmin!,
);
