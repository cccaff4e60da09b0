import type { LiveSession, LiveSessionListing } from '@signoff/sessions';
import { elements, tokens } from '../../../../test/support/html-tokens';
import { accountsPage, homePage, passwordPage, sessionsPage } from '../account/account.pages';
import { loginPage } from '../login/login.pages';
import {
  chainStepPage,
  chainWaitingPage,
  flowStagePage,
  logoutConfirmPage,
  logoutPage,
  nowherePage,
  signedOutPage,
  summaryPage,
} from '../logout/logout.pages';
import { chooserPage } from '../oidc/authorize.pages';
import { checkSessionPage } from '../oidc/check-session.pages';
import { endSessionConfirmPage } from '../oidc/end-session.pages';
import { chainRefusalPage, spAnsweredPage } from '../saml/slo.pages';
import { errorPage } from './errors.pages';
import { autoPostPage } from './layout';
import { STATIC_FILES } from './static-files';

/** Every page of the idp, each given a hostile string wherever it takes one. */
const X = `"'><img src=x onerror=alert(1)><script>alert(1)</script><a href="javascript:alert(1)">&amp;`;

const session = (id: string, name: string | null): LiveSession =>
  ({
    id: `${id}${X}`,
    authTime: new Date(0),
    user: { username: `${id}${X}`, name: name && `${name}${X}` },
  }) as unknown as LiveSession;
const sessions = [session('alice', 'Alice'), session('bob', null)];
/** A live session as My sessions lists it: hostile user agent, address and application name. */
const listed = (id: string) =>
  Object.assign(session(id, null), {
    userAgent: X,
    ip: X,
    lastSeenAt: new Date(0),
    applications: [{ providerId: X, slug: X, name: X, protocol: 'oidc' }],
  }) as unknown as LiveSessionListing;
const url = `https://app.example/logout?a=1&b=${X}`;
/** A logout's status whose applications have hostile names, ids and details. */
const hostileStatus = (settled: boolean) => ({
  settled,
  outcome: settled ? ('partial' as const) : null,
  applications: (['signed_out', 'told', 'refused', 'no_answer'] as const).map((state) => ({
    providerId: `${state}${X}`,
    name: `${state}${X}`,
    state,
    detail: X,
    retryDeliveryId: state === 'no_answer' ? X : null,
  })),
});

const PAGES: Record<string, string> = {
  login: loginPage({ csrf: X, returnTo: X, error: X, signedInAs: X }),
  'login with a username': loginPage({ csrf: X, returnTo: X, username: X }),
  home: homePage({
    current: sessions[0],
    accountsOnBrowser: 2,
    applications: [
      { providerId: X, name: X, url: `https://app.example/${X}` },
      { providerId: 'b', name: X, url: null },
    ],
    csrf: X,
  }),
  'my sessions': sessionsPage({
    username: X,
    currentId: listed('alice').id,
    sessions: [listed('alice'), listed('bob')],
    total: 3,
    csrf: X,
    notice: 'ended',
  }),
  'change password': passwordPage({ username: X, minLength: 12, csrf: X, problem: { field: 'current', message: X } }),
  accounts: accountsPage(sessions, X),
  chooser: chooserPage(sessions, X, X, X),
  'logout confirm': logoutConfirmPage(X, X),
  'logout confirm with return_to': logoutConfirmPage(X, X, { url: X, clientId: X }),
  'flow confirm': flowStagePage('confirm', X, X, X),
  'flow message': flowStagePage('message', X, X, X),
  'logout page': logoutPage({
    view: 'frontchannel',
    frames: [
      { deliveryId: X, reportToken: X, url },
      { deliveryId: X, reportToken: X, url, fields: { SAMLRequest: X, [X]: X } },
    ],
    next: X,
    timeoutMs: 5000,
    logout: { handle: X, status: hostileStatus(false) },
  }),
  'logout summary, under way': summaryPage({ status: hostileStatus(false), handle: X, csrf: X, remaining: [X] }),
  'logout summary, settled': summaryPage({ status: hostileStatus(true), handle: X, csrf: X, remaining: [] }),
  'chain step, GET': chainStepPage(X, { url }, X, 5000),
  'chain step, POST': chainStepPage(X, { url, fields: { SAMLRequest: X } }, X, 5000),
  'chain waiting': chainWaitingPage(X, X, X, 1500),
  'signed out': signedOutPage([X, X]),
  'signed out, nowhere to answer': nowherePage(),
  'end_session confirm': endSessionConfirmPage(X, X, X, X),
  'SP answered': spAnsweredPage(X, false),
  'chain refusal': chainRefusalPage(X, `/logout/chain/${X}`),
  error: errorPage(X, X, X),
  'auto-post': autoPostPage(url, { SAMLResponse: X, [X]: X }),
};

describe.each(Object.entries(PAGES))('the %s page', (_name, html) => {
  const all = () => elements(html);

  it('is a document in English', () => {
    expect(
      html.startsWith(
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"/><meta name="viewport" content="width=device-width, initial-scale=1"/>',
      ),
    ).toBe(true);
  });

  it('runs nothing inline: scripts are empty elements naming a static file, no handler, no style', () => {
    for (const script of elements(html, 'script')) {
      expect(Object.keys(STATIC_FILES).map((file) => `/static/${file}`)).toContain(script.attrs.src);
      expect(Object.keys(script.attrs).filter((name) => name !== 'src' && name !== 'defer')).toEqual([]);
    }
    expect(html.match(/<script\b[^>]*>/g)?.length ?? 0).toBe(html.match(/<script\b[^>]*><\/script>/g)?.length ?? 0);
    expect(
      all()
        .flatMap((element) => Object.keys(element.attrs))
        .filter((name) => /^on|^style$/i.test(name)),
    ).toEqual([]);
  });

  it('has one h1, labelled inputs and buttons that say what they do', () => {
    expect(elements(html, 'h1')).toHaveLength(1);
    const ids = new Set(all().map((element) => element.attrs.id));
    for (const label of elements(html, 'label')) expect(ids).toContain(label.attrs.for);
    for (const input of elements(html, 'input').filter((element) => element.attrs.type !== 'hidden')) {
      expect(elements(html, 'label').map((label) => label.attrs.for)).toContain(input.attrs.id);
    }
    const stream = tokens(html);
    stream.forEach((token, index) => {
      if (token.kind === 'open' && token.name === 'button')
        expect(stream[index + 1]).toMatchObject({ kind: 'text', text: expect.stringMatching(/\S/) });
    });
  });

  it('keeps its iframes titled', () => {
    for (const frame of elements(html, 'iframe')) expect(frame.attrs.title).toMatch(/^sign-out \d+$/);
  });
});

/** The pages that take no input from anyone. */
const FIXED = new Set(['signed out, nowhere to answer']);

it.each(Object.entries(PAGES).filter(([name]) => !FIXED.has(name)))(
  'the %s page says the hostile string as text and attribute values, never as markup',
  (_name, html) => {
    const all = elements(html);
    expect(
      all.filter(
        (element) =>
          element.name === 'img' || (element.name === 'a' && String(element.attrs.href).startsWith('javascript:')),
      ),
    ).toEqual([]);
    const said = [
      ...tokens(html).flatMap((token) => (token.kind === 'text' ? [token.text] : [])),
      ...all.flatMap((element) => Object.values(element.attrs)),
    ];
    expect(said.some((value) => typeof value === 'string' && value.includes(X))).toBe(true);
  },
);

describe('the pages the tests and scripts read', () => {
  it('login: the autofocus follows the known username', () => {
    const focused = (html: string) =>
      elements(html, 'input')
        .filter((input) => input.attrs.autofocus)
        .map((input) => input.attrs.id);
    expect(focused(PAGES.login)).toEqual(['username']);
    expect(focused(PAGES['login with a username'])).toEqual(['password']);
    expect(elements(PAGES.login, 'div').map((div) => div.attrs)).toContainEqual({ role: 'alert' });
  });

  it("the logout page: hidden frames with their delivery, token and timeout; posting frames named after their form's target", () => {
    const html = PAGES['logout page'];
    expect(elements(html, 'div')[0].attrs).toEqual({ class: 'frames', 'data-timeout': '5000', hidden: true });
    expect(elements(html, 'iframe').map((frame) => frame.attrs)).toEqual([
      { src: url, 'data-delivery': X, 'data-token': X, title: 'sign-out 1' },
      { name: 'fc1', 'data-delivery': X, 'data-token': X, title: 'sign-out 2' },
    ]);
    expect(elements(html, 'form').map((form) => form.attrs)).toEqual([{ method: 'post', action: url, target: 'fc1' }]);
    expect(elements(html, 'a').map((a) => a.attrs)).toEqual([{ id: 'next', href: X }]);
    // logout-page.js listens before the frames load; logout-status.js follows every application's state.
    expect(elements(html, 'script').map((script) => script.attrs)).toEqual([
      { src: '/static/logout-page.js' },
      { src: '/static/logout-status.js', defer: true },
    ]);
  });

  it('the chain step: #go or the auto-posting form, and #chain with where to resume and when', () => {
    expect(elements(PAGES['chain step, GET'], 'a').map((a) => a.attrs)).toEqual([{ id: 'go', href: url }]);
    expect(elements(PAGES['chain step, POST'], 'form')).toHaveLength(1);
    expect(elements(PAGES['chain step, POST'], 'div').map((div) => div.attrs)).toEqual([
      { id: 'chain', 'data-resume': X, 'data-timeout': '5250', hidden: true },
    ]);
  });

  it('the chain waiting page refreshes to the retry URL when the time is up', () => {
    const meta = elements(PAGES['chain waiting'], 'meta').find((element) => element.attrs['http-equiv'] === 'refresh');
    expect(meta?.attrs.content).toBe(`2;url=${X}`);
  });

  it('the check_session iframe: the script only, no heading', () => {
    const html = checkSessionPage();
    expect(html).toBe(
      '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"/><meta name="viewport" content="width=device-width, initial-scale=1"/>' +
        '<title>check_session</title><script src="/static/check-session.js"></script></head><body></body></html>\n',
    );
  });
});
