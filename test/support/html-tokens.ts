/**
 * A tokenizer for the HTML our renderer writes, for the page tests (apps/idp/src/http/layout.spec.tsx, pages.spec.ts):
 * attribute values are always double-quoted with `"` escaped, and `<` is escaped in text, so every
 * raw `<` opens a tag and every tag ends at the first `>` outside quotes. Anything else throws.
 */
export type Token =
  | { kind: 'open'; name: string; attrs: Record<string, string | true> }
  | { kind: 'close'; name: string }
  | { kind: 'text'; text: string };

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Decodes the entities the renderer writes (named and numeric). */
export function decodeEntities(value: string): string {
  return value.replace(/&(#\d+|[a-z]+);/g, (entity, name: string) =>
    name.startsWith('#') ? String.fromCharCode(Number(name.slice(1))) : (ENTITIES[name] ?? entity),
  );
}

export function tokens(html: string): Token[] {
  const out: Token[] = [];
  const body = html.replace(/^<!doctype html>\n/, '');
  let i = 0;
  while (i < body.length) {
    const lt = body.indexOf('<', i);
    if (lt !== i) {
      const end = lt === -1 ? body.length : lt;
      out.push({ kind: 'text', text: decodeEntities(body.slice(i, end)) });
      i = end;
      continue;
    }
    const close = /^<\/([a-z][a-z0-9]*)>/.exec(body.slice(i));
    if (close) {
      out.push({ kind: 'close', name: close[1] });
      i += close[0].length;
      continue;
    }
    const open = /^<([a-z][a-z0-9]*)/.exec(body.slice(i));
    if (!open) throw new Error(`not a tag at ${i}: ${body.slice(i, i + 40)}`);
    i += open[0].length;
    const attrs: Record<string, string | true> = {};
    for (;;) {
      const attr = /^\s+([^\s"'>/=]+)(?:="([^"]*)")?/.exec(body.slice(i));
      if (!attr) break;
      attrs[attr[1]] = attr[2] === undefined ? true : decodeEntities(attr[2]);
      i += attr[0].length;
    }
    const end = /^\/?>/.exec(body.slice(i));
    if (!end) throw new Error(`unterminated <${open[1]}> at ${i}: ${body.slice(i, i + 40)}`);
    i += end[0].length;
    out.push({ kind: 'open', name: open[1], attrs });
  }
  return out;
}

export const elements = (html: string, name?: string) =>
  tokens(html).filter(
    (token): token is Extract<Token, { kind: 'open' }> =>
      token.kind === 'open' && (name === undefined || token.name === name),
  );
