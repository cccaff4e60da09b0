import type { Config } from '@signoff/core';
import type { NextFunction, Request, Response } from 'express';

/**
 * The Content-Security-Policy of every response (CSP Level 3). Scripts and styles come only from our
 * own /static/ files: no inline script, no inline handler, no eval, so an HTML injection that slipped
 * past escaping still runs nothing. No page may be framed (clickjacking) and none may frame anything
 * but ourselves; `base-uri 'none'` keeps relative URLs ours.
 *
 * There is deliberately no `form-action`: it does not fall back to default-src, and the forms we must
 * send go to other origins that are only known per response (OAuth form_post to the redirect_uri, the
 * SAML HTTP-POST binding to an ACS or SingleLogoutService), while Chromium also applies form-action
 * to the redirects that follow a form's submission (our login POST ends at the RP's redirect_uri).
 * Those targets are the registered URLs the protocol code already checked.
 */
const DEFAULT_POLICY: Readonly<Record<string, string>> = {
  'default-src': "'self'",
  'script-src': "'self'",
  'style-src': "'self'",
  'img-src': "'self' data:",
  'object-src': "'none'",
  'frame-src': "'self'",
  'frame-ancestors': "'none'",
  'base-uri': "'none'",
};

/** RFC 6797: one year, the common preload threshold; not includeSubDomains, which is the domain owner's call. */
const HSTS = 'max-age=31536000';

/** The policy with some directives replaced (the others stay as strict as the default). */
export function contentSecurityPolicy(overrides: Readonly<Record<string, string>> = {}): string {
  return Object.entries({ ...DEFAULT_POLICY, ...overrides })
    .map(([directive, value]) => `${directive} ${value}`)
    .join('; ');
}

/**
 * The security headers every response carries: the CSP above, X-Frame-Options for browsers without
 * frame-ancestors, `X-Content-Type-Options: nosniff` (a JSON or text answer is never run as script),
 * `Referrer-Policy: no-referrer` (our query strings carry codes, SAML messages and RelayState, which
 * must not leak to the next site in a Referer), and under https `Strict-Transport-Security`
 * (RFC 6797 §7.2: sent over secure transport only; PUBLIC_URL says whether that is what clients use,
 * also behind a TLS-terminating proxy).
 */
export function securityHeaders(config: Config) {
  const https = new URL(config.publicUrl).protocol === 'https:';
  const policy = contentSecurityPolicy();
  return (_req: Request, res: Response, next: NextFunction): void => {
    res.setHeader('Content-Security-Policy', policy);
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    if (https) res.setHeader('Strict-Transport-Security', HSTS);
    next();
  };
}

/**
 * For the pages that are framed on purpose: `'self'` (a SAML LogoutResponse answered inside our
 * logout page's iframe) or `*` (the check_session iframe, which any relying party frames by design,
 * OIDC Session Management 1.0 §3.3). Only frame-ancestors changes; X-Frame-Options cannot say `*`.
 */
export function allowFramingBy(res: Response, ancestors: "'self'" | '*'): void {
  res.setHeader('Content-Security-Policy', contentSecurityPolicy({ 'frame-ancestors': ancestors }));
  if (ancestors === "'self'") res.setHeader('X-Frame-Options', 'SAMEORIGIN');
  else res.removeHeader('X-Frame-Options');
}

/** For the logout page: it may frame exactly these origins (the applications being signed out), and us. */
export function allowFramesOf(res: Response, origins: string[]): void {
  res.setHeader(
    'Content-Security-Policy',
    contentSecurityPolicy({ 'frame-src': ["'self'", ...new Set(origins)].join(' ') }),
  );
}
