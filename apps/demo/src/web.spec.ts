import type { IncomingMessage } from 'node:http';
import { escapeHtml, html, page, readCookie, sessionCookie } from './web';

describe('the sample applications’ HTML and cookies', () => {
  it('escapes every interpolated value (a claim or attribute is text, never markup), unless it is html already', () => {
    expect(escapeHtml(`<script>alert("x")</script> & 'y'`)).toBe(
      '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;',
    );
    const name = '<img src=x onerror=alert(1)>';
    const rows = [['name', name]].map(
      ([k, v]) =>
        html`<tr>
          <th>${k}</th>
          <td>${v}</td>
        </tr>`,
    );
    expect(
      html`<table>
          ${rows}
        </table>
        ${null}${undefined}${false}`.text
        .replace(/>\s+</g, '><') // Prettier lays out html`` templates; the whitespace between tags is not the point
        .trim(),
    ).toBe('<table><tr><th>name</th><td>&lt;img src=x onerror=alert(1)&gt;</td></tr></table>');
    const text = page({ app: 'A"pp', accent: '#123456', tagline: 't', signedIn: false, body: html`<p>${name}</p>` });
    expect(text).toContain('<title>A&quot;pp</title>');
    expect(text).toContain('<p>&lt;img src=x onerror=alert(1)&gt;</p>');
    expect(text).toContain('<p id="status" class="status out">Signed out</p>');
  });

  it('reads its own cookie by exact name among others on the same host, and sets it HttpOnly and SameSite=Lax', () => {
    const req = {
      headers: { cookie: 'signoff_browser=abc.def; demo_oidc_app=one; xdemo_saml_app=no' },
    } as IncomingMessage;
    expect(readCookie(req, 'demo_oidc_app')).toBe('one');
    expect(readCookie(req, 'demo_saml_app')).toBeUndefined();
    expect(readCookie({ headers: {} } as IncomingMessage, 'demo_oidc_app')).toBeUndefined();
    expect(sessionCookie('demo_saml_app', 'v')).toBe('demo_saml_app=v; Path=/; HttpOnly; SameSite=Lax');
  });
});
