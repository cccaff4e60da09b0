import type { Browser } from './browser';

/**
 * Runs SAML SSO in the browser: follows Signoff's redirects, signs in when the login page comes up,
 * and returns the auto-posting form (the SP's ACS URL and the SAMLResponse and RelayState fields).
 */
export async function samlSignIn(
  browser: Browser,
  url: string,
  credentials = { username: 'alice', password: 'alice password' },
) {
  const target = new URL(url);
  let response = await browser.get(target.pathname + target.search);
  for (let hops = 0; hops < 6 && response.status === 303; hops++) {
    response = await browser.get(response.headers.location);
    if (response.text.includes('name="password"')) {
      const returnTo = /name="return_to" value="([^"]+)"/.exec(response.text)![1];
      response = await browser.post('/login', { ...credentials, csrf: browser.csrf, return_to: returnTo });
    }
  }
  if (response.status !== 200 || !response.text.includes('SAMLResponse'))
    throw new Error(`no SAML response: ${response.status} ${response.text.slice(0, 300)}`);
  const action = /<form method="post" action="([^"]+)"/.exec(response.text)![1];
  const fields = Object.fromEntries(
    [...response.text.matchAll(/name="([^"]+)" value="([^"]*)"/g)].map((match) => [match[1], unescapeHtml(match[2])]),
  );
  return { action, fields };
}

const NAMED: Record<string, string> = { amp: '&', quot: '"', lt: '<', gt: '>', apos: "'" };

/** Decodes an attribute value of our pages: numeric entities, and the named ones the renderer writes (&amp; &quot; &lt;). */
export const unescapeHtml = (value: string) =>
  value.replace(/&(#\d+|amp|quot|lt|gt|apos);/g, (_m, entity: string) =>
    entity.startsWith('#') ? String.fromCharCode(Number(entity.slice(1))) : NAMED[entity],
  );
