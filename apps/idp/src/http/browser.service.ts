import { ForbiddenException, Inject, Injectable } from '@nestjs/common';
import { CONFIG, type Config, COOKIE_SECRET, randomToken, safeEqual } from '@signoff/core';
import type { Request, Response } from 'express';
import { createHmac } from 'node:crypto';
import { autoPostPage } from './layout';

/**
 * The browser cookie: a random browser id with an HMAC, HttpOnly, SameSite=Lax, and Secure with the
 * __Host- prefix when Signoff is served over https. It names the browser, not a user: the browser's
 * accounts are IdpSession rows that carry this id. CSRF tokens are derived from it.
 */
@Injectable()
export class BrowserService {
  readonly cookieName: string;
  private readonly secure: boolean;

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    @Inject(COOKIE_SECRET) private readonly secret: string,
  ) {
    this.secure = config.publicUrl.startsWith('https:');
    this.cookieName = this.secure ? '__Host-signoff_browser' : 'signoff_browser';
  }

  /** The verified browser id, or null when the cookie is missing, malformed or tampered with. */
  read(req: Request): string | null {
    const raw = readCookie(req, this.cookieName);
    const match = raw && /^([A-Za-z0-9_-]{43})\.([A-Za-z0-9_-]{43})$/.exec(raw);
    if (!match) return null;
    return safeEqual(match[2], this.mac('browser', match[1])) ? match[1] : null;
  }

  /** The browser id, issuing a new cookie when there is none. */
  ensure(req: Request, res: Response): string {
    const existing = this.read(req);
    if (existing) return existing;
    const browserId = randomToken(32);
    this.setCookie(res, browserId);
    return browserId;
  }

  /** Re-sends the cookie with a fresh lifetime (at login). */
  setCookie(res: Response, browserId: string): void {
    res.cookie(this.cookieName, `${browserId}.${this.mac('browser', browserId)}`, {
      httpOnly: true,
      sameSite: 'lax',
      secure: this.secure,
      path: '/',
      maxAge: this.config.session.absoluteMs,
    });
  }

  csrfToken(browserId: string): string {
    return this.mac('csrf', browserId);
  }

  /** Throws 403 unless the token was issued to this browser. */
  checkCsrf(browserId: string | null, token: unknown): void {
    if (!browserId)
      throw new ForbiddenException(
        'Your browser did not send its Signoff cookie. Enable cookies, reload the page and try again.',
      );
    if (typeof token !== 'string' || !safeEqual(token, this.csrfToken(browserId))) {
      throw new ForbiddenException('The form had expired or did not come from Signoff. Reload the page and try again.');
    }
  }

  /**
   * A cross-site POST does not carry our SameSite=Lax cookie, so a signed-in browser would look
   * signed out (and a new cookie would drop its other accounts). Such a POST to `path` is answered
   * with a page that posts the same `fields` once more from our own origin, which carries the cookie
   * (`relayed=1` marks the second one). True when it was relayed: the caller stops there.
   */
  relayCrossSitePost(req: Request, res: Response, path: string, fields: readonly string[]): boolean {
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (req.method !== 'POST' || this.read(req) || body.relayed === '1') return false;
    const kept = Object.fromEntries(
      fields.filter((name) => typeof body[name] === 'string').map((name) => [name, body[name] as string]),
    );
    res.type('html').send(autoPostPage(path, { ...kept, relayed: '1' }));
    return true;
  }

  private mac(purpose: string, value: string): string {
    return createHmac('sha256', this.secret).update(`${purpose}|${value}`).digest('base64url');
  }
}

function readCookie(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const index = part.indexOf('=');
    if (index > 0 && part.slice(0, index).trim() === name) return part.slice(index + 1).trim();
  }
  return undefined;
}
