import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

// What the two sample applications share: HTML with every value escaped, a cookie, a bounded body.
// They are small on purpose, written as an application developer would write them against
// openid-client and node-saml, and know nothing of Signoff's insides.

/** Text made safe for HTML element content and quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

/** HTML that is already safe (built with `html`); anything else is escaped when interpolated. */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/** A template tag that escapes every interpolated value unless it is Html (arrays are joined). */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  const part = (value: unknown): string =>
    value instanceof Html
      ? value.text
      : Array.isArray(value)
        ? value.map(part).join('')
        : value === null || value === undefined || value === false
          ? ''
          : escapeHtml(value);
  return new Html(strings.reduce((out, text, i) => out + text + (i < values.length ? part(values[i]) : ''), ''));
}

export interface PageOptions {
  /** The application's name, in the title and the header. */
  app: string;
  /** Its colour: the two applications look different at a glance. */
  accent: string;
  /** What it is built with, under the name. */
  tagline: string;
  signedIn: boolean;
  body: Html;
}

/** A whole page of a sample application: its header, a status badge ("Signed in" / "Signed out"), the body. */
export function page({ app, accent, tagline, signedIn, body }: PageOptions): string {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${app}</title>
        <style>
          body {
            margin: 0;
            font:
              16px/1.5 system-ui,
              -apple-system,
              'Segoe UI',
              sans-serif;
            color: #1f2933;
            background: #f5f7fa;
          }
          header {
            background: ${accent};
            color: #fff;
            padding: 1rem 1.5rem;
          }
          header h1 {
            margin: 0;
            font-size: 1.4rem;
          }
          header p {
            margin: 0;
            opacity: 0.9;
            font-size: 0.9rem;
          }
          main {
            max-width: 44rem;
            margin: 1.5rem auto;
            padding: 0 1rem;
          }
          .card {
            background: #fff;
            border-radius: 0.5rem;
            box-shadow: 0 1px 3px rgba(0, 0, 0, 0.15);
            padding: 1.25rem 1.5rem;
            margin-bottom: 1rem;
          }
          .status {
            display: inline-block;
            padding: 0.15rem 0.7rem;
            border-radius: 1rem;
            font-weight: 600;
            font-size: 0.95rem;
          }
          .in {
            background: #d1fae5;
            color: #065f46;
          }
          .out {
            background: #fee2e2;
            color: #991b1b;
          }
          .note {
            background: #eff6ff;
            border-left: 4px solid #3b82f6;
            padding: 0.5rem 0.75rem;
          }
          table {
            border-collapse: collapse;
            width: 100%;
            font-size: 0.9rem;
          }
          th,
          td {
            text-align: left;
            padding: 0.3rem 0.5rem;
            border-bottom: 1px solid #e4e7eb;
            vertical-align: top;
          }
          th {
            width: 35%;
            color: #52606d;
            font-weight: 600;
          }
          td {
            word-break: break-all;
            font-family: ui-monospace, monospace;
          }
          a.button {
            display: inline-block;
            background: ${accent};
            color: #fff;
            text-decoration: none;
            padding: 0.5rem 1.1rem;
            border-radius: 0.35rem;
            font-weight: 600;
          }
          a.secondary {
            background: #fff;
            color: ${accent};
            border: 2px solid ${accent};
          }
        </style>
      </head>
      <body>
        <header>
          <h1>${app}</h1>
          <p>${tagline}</p>
        </header>
        <main>
          <p id="status" class="status ${signedIn ? 'in' : 'out'}">${signedIn ? 'Signed in' : 'Signed out'}</p>
          ${body}
        </main>
      </body>
    </html> `.text;
}

/** Sends an HTML page that no cache keeps (it shows who is signed in). */
export function sendPage(res: ServerResponse, text: string, status = 200, headers: Record<string, string> = {}): void {
  res
    .writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...headers })
    .end(text);
}

/** A redirect (303: the next request is a GET whatever this one was). */
export function redirect(res: ServerResponse, location: string, headers: Record<string, string> = {}): void {
  res.writeHead(303, { location, 'cache-control': 'no-store', ...headers }).end();
}

/** The value of the cookie `name`, if the request has it. */
export function readCookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return undefined;
}

/**
 * A Set-Cookie value: HttpOnly, SameSite=Lax, for the whole application. Cookies are kept per host,
 * not per port, and all three servers of the demo run on 127.0.0.1: each application's cookie has a
 * name of its own, neither Signoff's (`signoff_browser`) nor the other application's.
 */
export function sessionCookie(name: string, value: string, maxAgeSeconds?: number): string {
  return `${name}=${value}; Path=/; HttpOnly; SameSite=Lax${maxAgeSeconds === undefined ? '' : `; Max-Age=${maxAgeSeconds}`}`;
}

/** A random handle for a session or a pending sign-in. */
export const randomHandle = (): string => randomBytes(18).toString('base64url');

const MAX_BODY = 256 * 1024;

/** The request body as text, refused beyond 256 KiB (a SAML Response with a few certificates is far less). */
export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new Error('request body too large'));
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** A time as people read it, in the server's time zone (the demo runs on the user's own machine). */
export const clockTime = (date: Date): string => date.toLocaleTimeString('en-GB', { hour12: false });
