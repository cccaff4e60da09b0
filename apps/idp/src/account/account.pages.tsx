import { classifyAddress, embeddedIpv4 } from '@signoff/core';
import type { ConsentView } from '@signoff/oidc';
import type { LiveSession, LiveSessionListing } from '@signoff/sessions';
import type { ComponentChildren } from 'preact';
import { Alert, Form, Layout, render, Script } from '../http/layout';
import { LocalTime } from '../http/local-time';
import { browserOf } from '../http/user-agent';
import { LogoutScopes } from '../logout/logout.pages';

/*
 * The user's own pages: home (who, which applications, sign out with a scope), My sessions (every
 * browser and device, each of which can be ended) and Change password; also the account chooser and
 * the applications the user allowed. Times are LocalTime: UTC from the server, the browser's zone
 * once local-time.js has run.
 */

const display = (session: LiveSession) =>
  session.user.name ? `${session.user.name} (${session.user.username})` : session.user.username;

/** An application the current session is signed in to, with where it lives when that is known (ApplicationHomes). */
export interface HomeApplication {
  providerId: string;
  name: string;
  url: string | null;
}

export interface HomeModel {
  current: LiveSession;
  /** How many accounts this browser has signed in, the current one included. */
  accountsOnBrowser: number;
  applications: HomeApplication[];
  csrf: string;
}

const localTimes = <Script src="local-time.js" defer />;

/** The signed-in home page: who this is, the applications of this session, the account's pages, and signing out. */
export function HomePage({ model }: { model: HomeModel }) {
  const { current, accountsOnBrowser, applications, csrf } = model;
  const others = accountsOnBrowser - 1;
  return (
    <Layout title="Signoff" head={localTimes}>
      <p>
        You are signed in as <strong>{display(current)}</strong>.
      </p>
      <p class="muted">
        Signed in <LocalTime value={current.authTime} />.
      </p>
      <section aria-labelledby="applications-heading">
        <h2 id="applications-heading">Applications you are signed in to</h2>
        {applications.length ? (
          <ul class="items">
            {applications.map((app) => (
              <li key={app.providerId}>
                {app.url ? <a href={app.url}>{app.name}</a> : <span>{app.name}</span>}
                {app.url && <span class="muted">{new URL(app.url).host}</span>}
              </li>
            ))}
          </ul>
        ) : (
          <p class="muted">None yet: applications you sign in to with this account appear here.</p>
        )}
      </section>
      <section aria-labelledby="account-heading">
        <h2 id="account-heading">Your account</h2>
        <ul class="links">
          <li>
            <a href="/account/sessions">My sessions</a>
            <span class="muted">Every browser and device you are signed in on, and ending them</span>
          </li>
          <li>
            <a href="/account/password">Change password</a>
          </li>
          <li>
            <a href="/account/applications">Applications you allowed</a>
          </li>
          <li>
            <a href="/accounts">{others ? `Switch account (${others} more on this browser)` : 'Add another account'}</a>
          </li>
          {current.user.isAdmin && (
            <li>
              <a href="/admin">Admin console</a>
            </li>
          )}
        </ul>
      </section>
      <section aria-labelledby="sign-out">
        <h2 id="sign-out" tabindex={-1}>
          Sign out
        </h2>
        <Form action="/logout" csrf={csrf}>
          {/* The same choices as the logout confirm page's: one component, so they cannot drift apart. */}
          <LogoutScopes accounts={accountsOnBrowser} />
          <button type="submit">Sign out</button>
        </Form>
      </section>
    </Layout>
  );
}

/** What the sessions page says after a form (fixed texts: `?done=` picks one, it never carries text). */
export const SESSIONS_NOTICES = {
  ended: 'The session was ended: that browser is signed out, and its applications are being told.',
  already: 'That session had already ended.',
  password: 'Your password was changed. Your sessions on other browsers and devices were ended.',
} as const;
export type SessionsNotice = keyof typeof SESSIONS_NOTICES;

export interface SessionsModel {
  username: string;
  /** The session this page is seen from ("this device"). */
  currentId: string;
  sessions: LiveSessionListing[];
  /** Live sessions in all (more than `sessions` when there are more than a page holds). */
  total: number;
  csrf: string;
  notice?: SessionsNotice;
}

/**
 * Where an address is, as far as Signoff can tell without a GeoIP database (it has none, and looks
 * nothing up): loopback and private ranges say so; a public address is only itself. Behind a reverse
 * proxy without TRUST_PROXY every session shows the proxy's address, hence the loopback wording.
 */
export function placeOf(ip: string): string | null {
  switch (classifyAddress(ip)) {
    case 'loopback':
      return "the server's machine, or a proxy in front of it";
    case 'private':
    case 'unique-local':
    case 'link-local':
      return 'a private network';
    default:
      return null;
  }
}

/** Every live session of the user: browser, address, times, applications; any but this one can be ended. */
export function SessionsPage({ model }: { model: SessionsModel }) {
  const sessions = [...model.sessions].sort(
    (a, b) => Number(b.id === model.currentId) - Number(a.id === model.currentId),
  );
  return (
    <Layout title="My sessions" head={localTimes}>
      <p class="muted">
        Where {model.username} is signed in. Ending a session signs you out on that browser or device, and out of the
        applications you used there.
      </p>
      {model.notice && <Notice>{SESSIONS_NOTICES[model.notice]}</Notice>}
      <ul class="sessions">
        {sessions.map((session) => (
          <SessionCard key={session.id} session={session} current={session.id === model.currentId} csrf={model.csrf} />
        ))}
      </ul>
      {model.total > sessions.length && (
        <p class="muted">
          Showing the {sessions.length} most recently used of {model.total} sessions.
        </p>
      )}
      <p>
        <a href="/">Back</a>
      </p>
    </Layout>
  );
}

function SessionCard({ session, current, csrf }: { session: LiveSessionListing; current: boolean; csrf: string }) {
  const browser = browserOf(session.userAgent);
  const address = session.ip ? (embeddedIpv4(session.ip) ?? session.ip) : null;
  const place = address && placeOf(address);
  return (
    <li>
      <h2>
        {browser}
        {current && <span class="tag">this device</span>}
      </h2>
      <dl>
        <dt>Address</dt>
        <dd>
          {address ?? 'unknown'}
          {place && <span class="muted"> ({place})</span>}
        </dd>
        <dt>Started</dt>
        <dd>
          <LocalTime value={session.authTime} />
        </dd>
        <dt>Last seen</dt>
        <dd>{current ? 'now' : <LocalTime value={session.lastSeenAt} />}</dd>
        <dt>Applications</dt>
        <dd>{session.applications.length ? session.applications.map((app) => app.name).join(', ') : 'none'}</dd>
      </dl>
      {current ? (
        <p>
          <a href="/#sign-out">Sign out on this device</a>
        </p>
      ) : (
        <Form action={`/account/sessions/${session.id}/end`} csrf={csrf}>
          <button
            type="submit"
            class="secondary"
            aria-label={`End session: ${browser}, ${address ?? 'unknown address'}`}
          >
            End session
          </button>
        </Form>
      )}
    </li>
  );
}

/** A refused password change: the message, said beside the field it is about. */
export interface PasswordProblem {
  field: 'current' | 'password' | 'confirm';
  message: string;
}

export interface PasswordModel {
  username: string;
  minLength: number;
  csrf: string;
  problem?: PasswordProblem;
}

/** Change password: the current one, the new one twice. Passwords are never written back into the form. */
export function PasswordPage({ model }: { model: PasswordModel }) {
  const error = (field: PasswordProblem['field']) =>
    model.problem?.field === field ? model.problem.message : undefined;
  return (
    <Layout title="Change password">
      <p class="muted">
        For {model.username}. Your sessions on other browsers and devices will be ended, and the applications there
        told; you stay signed in here.
      </p>
      {model.problem && <Alert>The password was not changed.</Alert>}
      <Form action="/account/password" csrf={model.csrf}>
        <PasswordField
          label="Current password"
          name="current"
          autocomplete="current-password"
          error={error('current')}
        />
        <PasswordField
          label="New password"
          name="password"
          autocomplete="new-password"
          error={error('password')}
          hint={`At least ${model.minLength} characters. Long passphrases are welcome; very common passwords are refused.`}
        />
        <PasswordField
          label="New password, again"
          name="confirm"
          autocomplete="new-password"
          error={error('confirm')}
        />
        <button type="submit">Change password</button>
      </Form>
      <p>
        <a href="/">Back</a>
      </p>
    </Layout>
  );
}

/** A labelled password input with its hint and error tied to it (aria-describedby) for assistive technology. */
function PasswordField({
  label,
  name,
  autocomplete,
  error,
  hint,
}: {
  label: string;
  name: string;
  autocomplete: string;
  error?: string;
  hint?: string;
}) {
  const id = `field-${name}`;
  const describedBy = [hint && `${id}-hint`, error && `${id}-error`].filter(Boolean).join(' ') || undefined;
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {hint && (
        <p class="muted hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      <input
        id={id}
        name={name}
        type="password"
        required
        autocomplete={autocomplete}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={describedBy}
      />
      {error && (
        <p class="field-error" id={`${id}-error`}>
          {error}
        </p>
      )}
    </div>
  );
}

/** A change was made (after the redirect that follows a form); said politely to assistive technology. */
function Notice({ children }: { children?: ComponentChildren }) {
  return (
    <div role="status" class="notice">
      {children}
    </div>
  );
}

/** The browser's accounts, the current one first. */
export function AccountsPage({ sessions, csrf }: { sessions: LiveSession[]; csrf: string }) {
  return (
    <Layout title="Choose an account">
      <ul class="accounts">
        {sessions.map((session, index) => (
          <li key={session.id}>
            <span>{display(session)}</span>
            {index === 0 ? (
              <span class="muted">current</span>
            ) : (
              <Form action="/accounts/switch" csrf={csrf}>
                <input type="hidden" name="session" value={session.id} />
                <button type="submit" class="link" aria-label={`Switch to ${display(session)}`}>
                  Switch
                </button>
              </Form>
            )}
          </li>
        ))}
      </ul>
      <p>
        <a href="/login">Sign in to another account</a>
      </p>
    </Layout>
  );
}

export const homePage = (model: HomeModel): string => render(<HomePage model={model} />);
export const sessionsPage = (model: SessionsModel): string => render(<SessionsPage model={model} />);
export const passwordPage = (model: PasswordModel): string => render(<PasswordPage model={model} />);
export const accountsPage = (sessions: LiveSession[], csrf: string): string =>
  render(<AccountsPage sessions={sessions} csrf={csrf} />);

/** The third-party applications the current account allowed, each with a button to withdraw it. */
export function ApplicationsPage({
  username,
  consents,
  csrf,
}: {
  username: string;
  consents: ConsentView[];
  csrf: string;
}) {
  return (
    <Layout title="Applications you allowed">
      <p class="muted">For {username}. Withdrawing access also signs the application out of your account.</p>
      {consents.length ? (
        <ul class="accounts">
          {consents.map((consent) => (
            <li key={consent.providerId}>
              <span>
                {consent.clientName} <span class="muted">{consent.scopes.join(' ')}</span>
              </span>
              <Form action="/account/applications/revoke" csrf={csrf}>
                <input type="hidden" name="provider" value={consent.providerId} />
                <button type="submit" class="link" aria-label={`Withdraw access of ${consent.clientName}`}>
                  Withdraw
                </button>
              </Form>
            </li>
          ))}
        </ul>
      ) : (
        <p>You have not allowed any application yet.</p>
      )}
      <p>
        <a href="/">Back</a>
      </p>
    </Layout>
  );
}

export const applicationsPage = (username: string, consents: ConsentView[], csrf: string): string =>
  render(<ApplicationsPage username={username} consents={consents} csrf={csrf} />);
