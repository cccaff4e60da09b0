import type { LiveSessionListing } from '@signoff/sessions';
import { Form, render } from '../http/layout';
import { browserOf } from '../http/user-agent';
import { ConsoleLayout, FilterSelect, FilterText, Pager, Time } from './console-layout';
import type { ConsoleAdmin } from './console.guard';

/** An application as the console's pickers list it. */
export interface ApplicationOption {
  id: string;
  name: string;
  protocol: string;
}

export interface SessionsModel {
  items: LiveSessionListing[];
  total: number;
  limit: number;
  offset: number;
  /** The filters as the admin typed them (username, application id). */
  filter: { user?: string; application?: string };
  /** The user the `user` filter names, when it names one: their sessions can be ended at once. */
  filteredUser?: { id: string; username: string } | null;
  applications: ApplicationOption[];
}

export function SessionsTable({
  sessions,
  csrf,
  showUser = true,
}: {
  sessions: LiveSessionListing[];
  csrf: string;
  showUser?: boolean;
}) {
  if (!sessions.length) return <p class="muted">No live sessions.</p>;
  return (
    <table>
      <thead>
        <tr>
          {showUser && <th scope="col">User</th>}
          <th scope="col">Browser</th>
          <th scope="col">Address</th>
          <th scope="col">Started</th>
          <th scope="col">Last seen</th>
          <th scope="col">Applications</th>
          <th scope="col">
            <span class="muted">Action</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {sessions.map((session) => (
          <tr key={session.id}>
            {showUser && (
              <td data-label="User">
                <a href={`/admin/users/${session.user.id}`}>{session.user.username}</a>
              </td>
            )}
            <td data-label="Browser">{browserOf(session.userAgent)}</td>
            <td data-label="Address">{session.ip ?? '—'}</td>
            <td data-label="Started">
              <Time value={session.authTime} />
            </td>
            <td data-label="Last seen">
              <Time value={session.lastSeenAt} />
            </td>
            <td data-label="Applications">
              {session.applications.length ? session.applications.map((app) => app.name).join(', ') : '—'}
            </td>
            <td>
              <Form action={`/admin/sessions/${session.id}/end`} csrf={csrf}>
                <button
                  type="submit"
                  class="danger"
                  aria-label={`End ${session.user.username}'s session from ${browserOf(session.userAgent)}`}
                >
                  End session
                </button>
              </Form>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function SessionsPage({ admin, model }: { admin: ConsoleAdmin; model: SessionsModel }) {
  return (
    <ConsoleLayout admin={admin} section="sessions" title="Sessions">
      <p class="muted">
        Every live IdP session. Ending one signs the user out of that browser and tells every application in it, over
        its back channel; the logout's page shows which confirmed.
      </p>
      <form method="get" action="/admin/sessions" class="filters" role="search" aria-label="Filter sessions">
        <FilterText label="User" name="user" value={model.filter.user} placeholder="username" />
        <FilterSelect
          label="Application"
          name="application"
          value={model.filter.application}
          options={model.applications.map((app) => [app.id, `${app.name} (${app.protocol.toUpperCase()})`] as const)}
        />
        <button type="submit">Filter</button>
      </form>
      {model.filter.user && model.filteredUser === null && <p class="error">No user is named {model.filter.user}.</p>}
      {model.filteredUser && model.total > 0 && (
        <Form action={`/admin/users/${model.filteredUser.id}/end-sessions`} csrf={admin.csrf}>
          <button type="submit" class="danger">
            End {model.total === 1 ? 'the session' : `all ${model.total} sessions`} of {model.filteredUser.username}
          </button>
        </Form>
      )}
      <SessionsTable sessions={model.items} csrf={admin.csrf} />
      <Pager
        path="/admin/sessions"
        query={{ user: model.filter.user, application: model.filter.application }}
        total={model.total}
        limit={model.limit}
        offset={model.offset}
      />
    </ConsoleLayout>
  );
}

export const sessionsPage = (admin: ConsoleAdmin, model: SessionsModel): string =>
  render(<SessionsPage admin={admin} model={model} />);
