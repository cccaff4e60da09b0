import type { LiveSession } from '@signoff/sessions';
import { Form, Layout, render } from '../http/layout';

/** The account chooser of an authorization request (several accounts on this browser, none hinted). */
export function ChooserPage({
  sessions,
  interaction,
  clientName,
  csrf,
}: {
  sessions: LiveSession[];
  interaction: string;
  clientName: string;
  csrf: string;
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
            <Form action="/oauth2/authorize/select" csrf={csrf}>
              <input type="hidden" name="interaction" value={interaction} />
              <input type="hidden" name="session" value={session.id} />
              <button type="submit" class="link" aria-label={`Continue as ${session.user.username}`}>
                Continue
              </button>
            </Form>
          </li>
        ))}
      </ul>
      <p>
        <a href={`/login?return_to=${encodeURIComponent(`/oauth2/authorize/resume?interaction=${interaction}`)}`}>
          Use another account
        </a>
      </p>
    </Layout>
  );
}

export const chooserPage = (sessions: LiveSession[], interaction: string, clientName: string, csrf: string): string =>
  render(<ChooserPage sessions={sessions} interaction={interaction} clientName={clientName} csrf={csrf} />);
