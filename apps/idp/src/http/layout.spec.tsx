import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { elements, tokens } from '../../../../test/support/html-tokens';
import { AutoPostForm, autoPostPage, Form, Layout, render, Script, trustedHtml } from './layout';

/** Markup that would run, or at least show, if it got into a page as it is. */
const HOSTILE = `"'><img src=x onerror=alert(1)><script>alert(1)</script>&amp;`;

const texts = (html: string) =>
  tokens(html).flatMap((token) => (token.kind === 'text' && token.text.trim() ? [token.text] : []));

describe('render and Layout', () => {
  const html = render(
    <Layout title="Sign in">
      <p>Hello</p>
    </Layout>,
  );

  it('write a whole document: the doctype first, then <html lang="en">', () => {
    expect(html.startsWith('<!doctype html>\n<html lang="en"><head>')).toBe(true);
    expect(html.endsWith('</html>\n')).toBe(true);
  });

  it('give every page the charset, the viewport, the stylesheet, the title and one h1', () => {
    expect(elements(html, 'meta').map((meta) => meta.attrs)).toEqual([
      { charset: 'utf-8' },
      { name: 'viewport', content: 'width=device-width, initial-scale=1' },
    ]);
    expect(elements(html, 'link').map((link) => link.attrs)).toEqual([
      { rel: 'stylesheet', href: '/static/signoff.css' },
    ]);
    expect(html).toContain('<title>Sign in · Signoff</title>');
    expect(html).toContain('<main><h1>Sign in</h1><p>Hello</p></main>');
    expect(elements(html, 'script')).toEqual([]);
  });

  it('render the head slot inside <head>, after the stylesheet', () => {
    const page = render(
      <Layout
        title="t"
        head={
          <>
            <Script src="logout-page.js" />
            <meta http-equiv="refresh" content="3;url=/logout/chain/x?a=1&b=2" />
          </>
        }
      >
        body
      </Layout>,
    );
    const head = page.slice(page.indexOf('<head>'), page.indexOf('</head>'));
    expect(head).toContain(
      '<link rel="stylesheet" href="/static/signoff.css"/><script src="/static/logout-page.js"></script><meta http-equiv="refresh" content="3;url=/logout/chain/x?a=1&amp;b=2"/>',
    );
    expect(page.indexOf('<script')).toBeLessThan(page.indexOf('<body>'));
  });

  it('load scripts by name from /static/, deferred when asked', () => {
    expect(render(<Script src="auto-post.js" defer />)).toContain('<script src="/static/auto-post.js" defer></script>');
    expect(render(<Script src="chain-step.js" />)).toContain('<script src="/static/chain-step.js"></script>');
  });
});

describe('escaping', () => {
  it('escapes text: a hostile string is shown, not parsed', () => {
    const html = render(
      <Layout title={HOSTILE}>
        <p>{HOSTILE}</p>
        <p>before {HOSTILE} after</p>
      </Layout>,
    );
    expect(html).toContain("<h1>&quot;'>&lt;img src=x onerror=alert(1)>&lt;script>alert(1)&lt;/script>&amp;amp;</h1>");
    expect(elements(html).map((element) => element.name)).toEqual([
      'html',
      'head',
      'meta',
      'meta',
      'title',
      'link',
      'body',
      'main',
      'h1',
      'p',
      'p',
    ]);
    expect(texts(html)).toEqual([`${HOSTILE} · Signoff`, HOSTILE, HOSTILE, `before ${HOSTILE} after`]);
  });

  it('escapes attribute values: a hostile value stays one value of one attribute', () => {
    const html = render(
      <AutoPostForm
        url={`https://rp.example/cb?a=1&b=${HOSTILE}`}
        fields={{ state: HOSTILE, [HOSTILE]: 'x' }}
        target={HOSTILE}
      />,
    );
    expect(html).toContain('value="&quot;\'>&lt;img src=x onerror=alert(1)>&lt;script>alert(1)&lt;/script>&amp;amp;"');
    const [form, ...inputs] = elements(html).filter((element) => element.name === 'form' || element.name === 'input');
    expect(form.attrs).toEqual({ method: 'post', action: `https://rp.example/cb?a=1&b=${HOSTILE}`, target: HOSTILE });
    expect(inputs.map((input) => input.attrs)).toEqual([
      { type: 'hidden', name: 'state', value: HOSTILE },
      { type: 'hidden', name: HOSTILE, value: 'x' },
    ]);
    expect(elements(html).map((element) => element.name)).toEqual(['form', 'input', 'input', 'noscript', 'button']);
  });

  it('trustedHtml is the way raw HTML gets in: the same string, escaped everywhere else', () => {
    const raw = render(<Layout title="t">{trustedHtml('<img src="/static/x.png" alt="">')}</Layout>);
    const escaped = render(<Layout title="t">{'<img src="/static/x.png" alt="">'}</Layout>);
    expect(elements(raw, 'img')).toHaveLength(1);
    expect(elements(escaped, 'img')).toHaveLength(0);
  });

  it('trustedHtml is used nowhere in the application, and dangerouslySetInnerHTML only inside it', () => {
    const root = join(__dirname, '..', '..', '..', '..');
    const sources = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
        entry.isDirectory()
          ? sources(join(dir, entry.name))
          : /\.tsx?$/.test(entry.name) && !/\.spec\.tsx?$/.test(entry.name)
            ? [join(dir, entry.name)]
            : [],
      );
    const files = [...sources(join(root, 'apps')), ...sources(join(root, 'libs'))];
    const using = (word: string) =>
      files.filter((file) => readFileSync(file, 'utf8').includes(word)).map((file) => relative(root, file));
    expect(using('trustedHtml(')).toEqual(['apps/idp/src/http/layout.tsx']);
    expect(using('dangerouslySetInnerHTML')).toEqual(['apps/idp/src/http/layout.tsx']);
  });
});

describe('Form', () => {
  it('POSTs to our own path with the CSRF token first', () => {
    const html = render(
      <Form action="/logout" csrf={HOSTILE}>
        <button type="submit">Sign out</button>
      </Form>,
    );
    expect(
      html.startsWith(
        '<!doctype html>\n<form method="post" action="/logout"><input type="hidden" name="csrf" value="&quot;',
      ),
    ).toBe(true);
    expect(elements(html, 'input')[0].attrs).toEqual({ type: 'hidden', name: 'csrf', value: HOSTILE });
  });

  it.each(['//evil.example/login', '/\\evil.example/login'])('refuses another site: %s', (action) => {
    expect(() => render(<Form action={action as `/${string}`} csrf="c" />)).toThrow(/our own paths/);
  });
});

describe('AutoPostForm and AutoPostPage', () => {
  it('post every field, name before value, with a button for browsers without JavaScript', () => {
    expect(
      render(
        <AutoPostForm url="https://sp.example/slo" fields={{ SAMLRequest: 'PHA+', RelayState: 'r' }} target="fc0" />,
      ),
    ).toBe(
      '<!doctype html>\n<form method="post" action="https://sp.example/slo" target="fc0"><input type="hidden" name="SAMLRequest" value="PHA+"/>' +
        '<input type="hidden" name="RelayState" value="r"/><noscript><button type="submit">Continue</button></noscript></form>\n',
    );
  });

  it('the page sends its form with the deferred static script, nothing inline', () => {
    const html = autoPostPage('https://rp.example/cb', { code: 'c', state: 's' });
    expect(html).toContain('<script src="/static/auto-post.js" defer></script>');
    expect(html).toContain(
      '<form method="post" action="https://rp.example/cb"><input type="hidden" name="code" value="c"/>',
    );
    expect(elements(html, 'form')).toHaveLength(1);
    expect(elements(html, 'h1')).toHaveLength(1);
  });
});
