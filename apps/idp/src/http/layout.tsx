import type { ComponentChildren, VNode } from 'preact';
import { renderToString } from 'preact-render-to-string';
import type { StaticScript } from './static-files';

/**
 * Signoff's pages are preact components rendered to a string on the server; nothing of preact goes to
 * the browser. Text and attribute values are escaped by the renderer, so a page cannot be made to say
 * markup. The only way raw HTML gets in is trustedHtml() below, and it is used nowhere.
 *
 * The CSP (security-headers.ts) admits scripts and styles from /static/ only: no inline <script>, no
 * on* handler, no style attribute. Scripts are Script elements naming a file of static-files.ts.
 */

/** The one way a page becomes HTML: the doctype, then the tree. */
export function render(node: VNode): string {
  return `<!doctype html>\n${renderToString(node)}\n`;
}

/** An html element with its head and body, and nothing else (Layout is the frame of every visible page). */
export function Document({
  title,
  head,
  children,
}: {
  title: string;
  head?: ComponentChildren;
  children?: ComponentChildren;
}) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{title}</title>
        {head}
      </head>
      <body>{children}</body>
    </html>
  );
}

/**
 * The frame every page of Signoff shares: the stylesheet, the title (also the page's one h1), and
 * `head` for what one page adds there (a Script, a meta refresh).
 */
export function Layout({
  title,
  head,
  children,
}: {
  title: string;
  head?: ComponentChildren;
  children?: ComponentChildren;
}) {
  return (
    <Document
      title={`${title} · Signoff`}
      head={
        <>
          <link rel="stylesheet" href="/static/signoff.css" />
          {head}
        </>
      }
    >
      <main>
        <h1>{title}</h1>
        {children}
      </main>
    </Document>
  );
}

/**
 * One of our static scripts. Without `defer` it runs before the body is parsed (the logout page must
 * be listening before its iframes can load); scripts that need the body wait for DOMContentLoaded.
 */
export function Script({ src, defer }: { src: StaticScript; defer?: boolean }) {
  return <script src={`/static/${src}`} defer={defer} />;
}

/** A path of ours: one slash, not two (`//host` is another site). */
export type OwnPath = `/${string}`;

/** A POST form to one of our own paths, carrying the CSRF token. */
export function Form({ action, csrf, children }: { action: OwnPath; csrf: string; children?: ComponentChildren }) {
  if (!/^\/(?![/\\])/.test(action)) throw new Error(`a Form posts to one of our own paths, not to ${action}`);
  return (
    <form method="post" action={action}>
      <input type="hidden" name="csrf" value={csrf} />
      {children}
    </form>
  );
}

/**
 * A form that posts `fields` to `url` (another site's: a registered redirect_uri, ACS or
 * SingleLogoutService that the protocol code checked), sent by a script of the page (auto-post.js,
 * logout-page.js, chain-step.js); without JavaScript its button sends it. `target` names an iframe.
 */
export function AutoPostForm({
  url,
  fields,
  target,
}: {
  url: string;
  fields: Readonly<Record<string, string>>;
  target?: string;
}) {
  return (
    <form method="post" action={url} target={target}>
      {Object.entries(fields).map(([name, value]) => (
        <input key={name} type="hidden" name={name} value={value} />
      ))}
      <noscript>
        <button type="submit">Continue</button>
      </noscript>
    </form>
  );
}

/** A page whose form POSTs itself to another site: OAuth's form_post response mode, SAML's HTTP-POST binding, the cross-site POST relay. */
export function AutoPostPage({ url, fields }: { url: string; fields: Readonly<Record<string, string>> }) {
  return (
    <Layout title="Signing in…" head={<Script src="auto-post.js" defer />}>
      <AutoPostForm url={url} fields={fields} />
    </Layout>
  );
}

export const autoPostPage = (url: string, fields: Readonly<Record<string, string>>): string =>
  render(<AutoPostPage url={url} fields={fields} />);

/** One choice of a RadioGroup: `id` names its input (default `${prefix}-${value}`); `hint` is said with it. */
export interface RadioOption {
  value: string;
  label: string;
  hint?: string;
  id?: string;
}

/**
 * Radio buttons under a legend: one tab stop, the arrow keys move the choice, and each option's hint
 * is read with it (aria-describedby).
 */
export function RadioGroup({
  legend,
  name,
  prefix,
  options,
  checked,
  required,
  class: className,
}: {
  legend: string;
  name: string;
  prefix: string;
  options: readonly RadioOption[];
  checked?: string;
  required?: boolean;
  class?: string;
}) {
  return (
    <fieldset class={className}>
      <legend>{legend}</legend>
      {options.map((option) => {
        const id = option.id ?? `${prefix}-${option.value}`;
        return (
          <div class="choice" key={id}>
            <input
              id={id}
              type="radio"
              name={name}
              value={option.value}
              checked={option.value === checked}
              required={required}
              aria-describedby={option.hint ? `${id}-hint` : undefined}
            />
            <label for={id}>{option.label}</label>
            {option.hint && (
              <p class="muted" id={`${id}-hint`}>
                {option.hint}
              </p>
            )}
          </div>
        );
      })}
    </fieldset>
  );
}

/** An error said to the user (assistive technology announces it). */
export function Alert({ children }: { children?: ComponentChildren }) {
  return (
    <div role="alert">
      <p class="error">{children}</p>
    </div>
  );
}

/**
 * THE escape hatch, and the only one: `html` goes into the page as it is, inside a <div>. The caller
 * vouches that it is markup we wrote, never anything a request or a database row carried. Used nowhere
 * today; lint allows dangerouslySetInnerHTML in this file only (eslint.config.mjs).
 */
export function trustedHtml(html: string): VNode {
  return <div dangerouslySetInnerHTML={{ __html: html }} />;
}
