/** Escapes text for HTML element content and quoted attribute values. */
export function h(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The page frame every HTML page of Signoff shares. `body` must already be escaped. `script` names
 * one of our static scripts (STATIC_SCRIPTS); the CSP admits no inline script. It is loaded in the
 * head without `defer` so that it runs before the body is parsed (the logout page must be listening
 * before its iframes can load); scripts that need the body wait for DOMContentLoaded.
 */
export function page(title: string, body: string, script?: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${h(title)} · Signoff</title>
<link rel="stylesheet" href="/static/signoff.css">${script ? `\n<script src="/static/${h(script)}"></script>` : ''}
</head>
<body>
<main>
<h1>${h(title)}</h1>
${body}
</main>
</body>
</html>
`;
}

/** A POST form to one of our own paths, carrying the CSRF token. */
export function form(action: string, csrf: string, inner: string, attributes = ''): string {
  return `<form method="post" action="${h(action)}"${attributes}>
<input type="hidden" name="csrf" value="${h(csrf)}">
${inner}
</form>`;
}

export const STYLESHEET = `
:root { font-family: system-ui, sans-serif; color: #1d2330; background: #f4f5f8; }
main { max-width: 26rem; margin: 4rem auto; padding: 2rem; background: #fff; border-radius: .5rem; box-shadow: 0 1px 4px #0002; }
h1 { font-size: 1.4rem; margin-top: 0; }
label { display: block; margin: 1rem 0 .3rem; font-weight: 600; }
input[type=text], input[type=password] { width: 100%; box-sizing: border-box; padding: .55rem; border: 1px solid #b8bfcc; border-radius: .3rem; font-size: 1rem; }
button { margin-top: 1.2rem; padding: .55rem 1.1rem; border: 0; border-radius: .3rem; background: #2f5bd3; color: #fff; font-size: 1rem; cursor: pointer; }
button.link { background: none; color: #2f5bd3; padding: 0; margin: 0; }
.error { padding: .7rem; border-radius: .3rem; background: #fdecec; color: #8a1c1c; }
.muted { color: #5b6474; font-size: .9rem; }
ul.accounts { list-style: none; padding: 0; }
ul.accounts li { display: flex; justify-content: space-between; align-items: center; padding: .6rem 0; border-bottom: 1px solid #e4e7ee; }
`;

/** A page whose form POSTs itself to another site: OAuth's form_post response mode, SAML's HTTP-POST binding. */
export function formPostPage(url: string, fields: Record<string, string>): string {
  const inputs = Object.entries(fields).map(([name, value]) => `<input type="hidden" name="${h(name)}" value="${h(value)}">`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Signing in…</title><script src="/static/auto-post.js" defer></script></head>
<body>
<form method="post" action="${h(url)}">
${inputs}
<noscript><button type="submit">Continue</button></noscript>
</form>
</body></html>
`;
}

/** Submits a formPostPage's form (a static file: the CSP admits no inline handler). */
export const AUTO_POST_SCRIPT = `document.forms[0].submit();
`;
