import type { LiveSession } from '@signoff/sessions';
import { Form, Layout, type OwnPath, render } from '../http/layout';

/**
 * The account chooser of a sign-in request with several accounts on this browser and none named:
 * an OIDC authorization request or a SAML AuthnRequest. Each account posts `fields` plus its session
 * to `action`; "Use another account" goes to the login page, which comes back to `resume`.
 */
export function ChooserPage({
  sessions,
  clientName,
  csrf,
  action,
  fields,
  resume,
}: {
  sessions: LiveSession[];
  clientName: string;
  csrf: string;
  action: OwnPath;
  fields: Record<string, string>;
  resume: string;
}) {
  return (
    <Layout title="Choose an account">
      <p>
        to continue to <strong>{clientName}</strong>
      </p>
      <ul class="accounts">
        {sessions.map((session) => (
          <li key={session.id}>
            <span>
              {session.user.name ?? session.user.username} <span class="muted">{session.user.username}</span>
            </span>
            <Form action={action} csrf={csrf}>
              {Object.entries(fields).map(([name, value]) => (
                <input key={name} type="hidden" name={name} value={value} />
              ))}
              <input type="hidden" name="session" value={session.id} />
              <button type="submit" class="link" aria-label={`Continue as ${session.user.username}`}>
                Continue
              </button>
            </Form>
          </li>
        ))}
      </ul>
      <p>
        <a href={`/login?return_to=${encodeURIComponent(resume)}`}>Use another account</a>
      </p>
    </Layout>
  );
}

export const chooserPage = (sessions: LiveSession[], interaction: string, clientName: string, csrf: string): string =>
  render(
    <ChooserPage
      sessions={sessions}
      clientName={clientName}
      csrf={csrf}
      action="/oauth2/authorize/select"
      fields={{ interaction }}
      resume={`/oauth2/authorize/resume?interaction=${interaction}`}
    />,
  );

/** What each scope lets a client learn or do, as the consent page says it. */
const SCOPE_MEANING: Record<string, string> = {
  openid: 'Know that you are signed in, with an identifier for you',
  profile: 'Your name and username',
  email: 'Your email address',
  groups: 'The groups you belong to',
  offline_access: 'Stay connected when you are not using it, until you withdraw this',
};

/**
 * The consent page of a third-party client (OIDC Core §3.1.2.4): who asks, where the browser goes
 * next (the redirect URI's host, so a look-alike name is not all the user sees), and what it may learn.
 */
export function ConsentPage({
  clientName,
  redirectHost,
  scopes,
  username,
  interaction,
  csrf,
}: {
  clientName: string;
  redirectHost: string;
  scopes: string[];
  username: string;
  interaction: string;
  csrf: string;
}) {
  return (
    <Layout title="Allow access?">
      <p>
        <strong>{clientName}</strong> <span class="muted">({redirectHost})</span> asks to use your Signoff account{' '}
        <strong>{username}</strong>. It will be able to see:
      </p>
      <ul>
        {scopes.map((scope) => (
          <li key={scope}>{SCOPE_MEANING[scope] ?? scope}</li>
        ))}
      </ul>
      <p class="muted">You can withdraw this later from your account page.</p>
      <Form action="/oauth2/authorize/consent" csrf={csrf}>
        <input type="hidden" name="interaction" value={interaction} />
        <button type="submit" name="answer" value="allow">
          Allow
        </button>{' '}
        <button type="submit" name="answer" value="deny" class="link">
          Deny
        </button>
      </Form>
    </Layout>
  );
}

export const consentPage = (props: Parameters<typeof ConsentPage>[0]): string => render(<ConsentPage {...props} />);
