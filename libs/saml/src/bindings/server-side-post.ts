import { type IncomingMessage, redirectMessage } from './incoming';

/**
 * What an SP's server answered a LogoutRequest that Signoff POSTed to it from the worker (the
 * HTTP-POST binding used server-side, as SPs that offer no SOAP endpoint are told without a browser).
 * The SP answers as it would answer a browser, and puts its LogoutResponse wherever that would go:
 * - a redirect whose Location carries `SAMLResponse` (HTTP-Redirect binding, bindings §3.4.4.1: the
 *   signature is over that query, so the raw query is kept as it came), or
 * - a page with an auto-posting form whose `SAMLResponse` field holds it (HTTP-POST, bindings §3.5.4).
 *
 * `none`: the answer carries no LogoutResponse (a plain 200, a redirect to the SP's own page).
 * `unreadable`: it carries something that cannot be one message (a field given twice, bad encoding).
 */
export type ReplyLogoutResponse =
  { kind: 'none' } | { kind: 'message'; message: IncomingMessage } | { kind: 'unreadable'; problem: string };

/** Finds the LogoutResponse in an SP's answer to a server-side POST (see ReplyLogoutResponse). */
export function logoutResponseInReply(reply: {
  status: number;
  body: string;
  location?: string | null;
}): ReplyLogoutResponse {
  if (reply.status >= 300 && reply.status < 400) {
    const location = reply.location ?? '';
    const start = location.indexOf('?');
    if (start < 0) return { kind: 'none' };
    const rawQuery = location.slice(start + 1).split('#')[0];
    if (!decodedLoosely(rawQuery).includes('SAMLResponse=')) return { kind: 'none' };
    try {
      const { kind, message } = redirectMessage(rawQuery);
      return kind === 'SAMLResponse' ? { kind: 'message', message } : { kind: 'none' };
    } catch (error) {
      return { kind: 'unreadable', problem: `the redirect's query: ${(error as Error).message}` };
    }
  }
  const fields = formFields(reply.body);
  const responses = fields.filter(([name]) => name === 'SAMLResponse');
  if (!responses.length) return { kind: 'none' };
  if (responses.length > 1) return { kind: 'unreadable', problem: 'the page holds more than one SAMLResponse' };
  const relayStates = fields.filter(([name]) => name === 'RelayState');
  if (relayStates.length > 1) return { kind: 'unreadable', problem: 'the page holds more than one RelayState' };
  return {
    kind: 'message',
    message: { binding: 'post', message: responses[0][1], relayState: relayStates[0]?.[1] || null },
  };
}

/** The query as far as it decodes, only to see whether a SAMLResponse is in it at all. */
function decodedLoosely(rawQuery: string): string {
  try {
    return decodeURIComponent(rawQuery);
  } catch {
    return rawQuery;
  }
}

const INPUT = /<input\b([^>]*)>/gi;
const ATTRIBUTE = /([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;

/**
 * The name and value of every `<input>` of an HTML page, attribute values decoded. Not an HTML parser:
 * enough for the hidden fields of an auto-posting form (bindings §3.5.4), which is all an SP's
 * answer needs; a page that hides its fields any other way is read as carrying no LogoutResponse.
 */
export function formFields(html: string): Array<[string, string]> {
  const fields: Array<[string, string]> = [];
  for (const [, attributes] of html.matchAll(INPUT)) {
    let name: string | null = null;
    let value = '';
    for (const [, key, double, single, bare] of attributes.matchAll(ATTRIBUTE)) {
      const text = decodeEntities(double ?? single ?? bare ?? '');
      if (key.toLowerCase() === 'name') name = text;
      if (key.toLowerCase() === 'value') value = text;
    }
    if (name !== null) fields.push([name, value]);
  }
  return fields;
}

const NAMED: Record<string, string> = { amp: '&', quot: '"', apos: "'", lt: '<', gt: '>', equals: '=', plus: '+' };

/** Character references in an attribute value: numeric ones, and the named ones a form's base64 may use. */
function decodeEntities(value: string): string {
  return value.replace(/&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]+);/g, (whole, reference: string) => {
    if (!reference.startsWith('#')) return NAMED[reference] ?? whole;
    const code =
      reference[1] === 'x' || reference[1] === 'X' ? parseInt(reference.slice(2), 16) : Number(reference.slice(1));
    return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
  });
}
