import type { ConsentView } from '@signoff/oidc';
import type { LiveSession } from '@signoff/sessions';
import { Form, Layout, render } from '../http/layout';

const display = (session: LiveSession) =>
  session.user.name ? `${session.user.name} (${session.user.username})` : session.user.username;

/** The signed-in home page: who this is, and the other accounts of this browser. */
export function HomePage({ current, others, csrf }: { current: LiveSession; others: number; csrf: string }) {
  return (
    <Layout title="Signoff">
      <p>
        You are signed in as <strong>{display(current)}</strong>.
      </p>
      <p class="muted">Signed in {current.authTime.toISOString()}.</p>
      <p>
        <a href="/accounts">{others ? `Switch account (${others} more on this browser)` : 'Add another account'}</a>
      </p>
      <p>
        <a href="/account/applications">Applications you allowed</a>
      </p>
      <Form action="/logout" csrf={csrf}>
        <button type="submit">Sign out</button>
      </Form>
    </Layout>
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

export const homePage = (current: LiveSession, others: number, csrf: string): string =>
  render(<HomePage current={current} others={others} csrf={csrf} />);
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
