import { Injectable } from '@nestjs/common';
import { AuditService, SignoffError, verifyPassword } from '@signoff/core';
import type { LiveSession } from '@signoff/sessions';
import { UserAdminService } from '../admin/user-admin.service';
import { LoginThrottle } from '../login/login-throttle.service';

/** The form's fields: the current password, and the new one twice. */
export interface PasswordChangeInput {
  current: string;
  password: string;
  confirm: string;
}

/** What became of a change: done (and how many other sessions ended), or refused with the field to say it beside. */
export type PasswordChangeResult =
  | { changed: true; endedSessions: number }
  | { changed: false; status: 400 | 429; field: 'current' | 'password' | 'confirm'; message: string };

const WRONG = 'That is not your current password.';
const THROTTLED = 'Too many failed attempts. Wait a few minutes and try again.';

/**
 * A user changes their own password from the session they are in. Knowing the session is not
 * enough: the current password is asked for, and a wrong one counts as a failed login of that
 * username and address (LoginThrottle, the same counters as /login), so a stolen session cannot be
 * used to guess the password, nor to lock the user out faster than the login page would. The change
 * itself is UserAdminService.changePassword: the policy, then in one transaction the new hash
 * (audited `user.password_changed`, the user as actor) and the end of every other session of the
 * user through the logout engine, their tokens revoked; the session it was made from stays.
 */
@Injectable()
export class PasswordChange {
  constructor(
    private readonly throttle: LoginThrottle,
    private readonly admin: UserAdminService,
    private readonly audit: AuditService,
  ) {}

  async change(
    session: LiveSession,
    input: PasswordChangeInput,
    ip: string | undefined,
  ): Promise<PasswordChangeResult> {
    const user = session.user;
    if (!input.current) return refused(400, 'current', 'Enter your current password.');
    if (input.password !== input.confirm) return refused(400, 'confirm', 'The two new passwords are not the same.');
    if (!(await this.throttle.reserve(user.username, ip))) {
      await this.refusalAudit(session, 'throttled');
      return refused(429, 'current', THROTTLED);
    }
    if (!(await verifyPassword(input.current, user.passwordHash))) {
      // The reserved attempt stays counted: it was a failure, as at /login.
      await this.refusalAudit(session, 'wrong_password');
      return refused(400, 'current', WRONG);
    }
    await this.throttle.succeeded(user.username, ip);
    try {
      const { operation } = await this.admin.changePassword(
        user.id,
        input.password,
        { type: 'user', id: user.id },
        { keepIdpSessionId: session.id },
      );
      return { changed: true, endedSessions: operation.idpSessionIds.length };
    } catch (error) {
      // The policy's refusal ("password: the password must be at least …"), said beside the new password.
      if (error instanceof SignoffError && error.code === 'weak_password') {
        const details: unknown[] = Array.isArray(error.details) ? error.details : [];
        const detail = details.find(
          (item): item is string => typeof item === 'string' && item.startsWith('password: '),
        );
        return refused(400, 'password', detail ? capitalise(detail.slice('password: '.length)) + '.' : error.message);
      }
      throw error;
    }
  }

  /** Who tried: the user's own session, so the actor is the user (the password is never recorded). */
  private refusalAudit(session: LiveSession, reason: 'wrong_password' | 'throttled') {
    return this.audit.record({
      action: 'user.password_change_refused',
      actor: { type: 'user', id: session.userId },
      target: { type: 'user', id: session.userId },
      details: { reason, idpSessionId: session.id },
    });
  }
}

const refused = (
  status: 400 | 429,
  field: 'current' | 'password' | 'confirm',
  message: string,
): PasswordChangeResult => ({ changed: false, status, field, message });

const capitalise = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
