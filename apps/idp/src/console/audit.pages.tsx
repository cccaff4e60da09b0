import type { AuditEvent } from '@signoff/core';
import { render } from '../http/layout';
import { ConsoleLayout, FilterSelect, FilterText, Pager, Time } from './console-layout';
import type { ConsoleAdmin } from './console.guard';

export interface AuditModel {
  items: AuditEvent[];
  total: number;
  limit: number;
  offset: number;
  filter: Record<'actor' | 'action' | 'target' | 'since' | 'until', string | undefined>;
  /** Every action the log holds (the action filter's choices). */
  actions: string[];
  /** Usernames of the users and administrators among the listed actors and targets. */
  usernames: ReadonlyMap<string, string>;
  /** Names of the applications among the listed actors and targets. */
  applications: ReadonlyMap<string, string>;
  /** A filter that cannot be meant (an unknown user, a bad time), said above an empty list. */
  problem?: string;
}

function Actor({ event, model }: { event: AuditEvent; model: AuditModel }) {
  const id = event.actorId;
  if ((event.actorType === 'user' || event.actorType === 'admin') && id)
    return (
      <>
        <a href={`/admin/users/${id}`}>{model.usernames.get(id) ?? id}</a>
        {event.actorType === 'admin' && <span class="muted"> (admin)</span>}
      </>
    );
  if (event.actorType === 'provider' && id)
    return (
      <>
        <a href={`/admin/applications/${id}`}>{model.applications.get(id) ?? id}</a>
        <span class="muted"> (application)</span>
      </>
    );
  if (event.actorType === 'system') return <>Signoff (system)</>;
  return <span class="muted">{event.actorType}</span>;
}

function Target({ event, model }: { event: AuditEvent; model: AuditModel }) {
  const { targetType: type, targetId: id } = event;
  if (!type || !id) return <span class="muted">—</span>;
  if (type === 'user')
    return (
      <>
        user <a href={`/admin/users/${id}`}>{model.usernames.get(id) ?? id}</a>
      </>
    );
  if (type === 'logout_operation')
    return (
      <>
        logout{' '}
        <a href={`/admin/logouts/${id}`}>
          <code>{id}</code>
        </a>
      </>
    );
  if (type === 'provider')
    return (
      <>
        application <a href={`/admin/applications/${id}`}>{model.applications.get(id) ?? id}</a>
      </>
    );
  return (
    <>
      {type.replace(/_/g, ' ')} <code class="copy">{id}</code>
    </>
  );
}

export function AuditPage({ admin, model }: { admin: ConsoleAdmin; model: AuditModel }) {
  const { filter } = model;
  const actions =
    filter.action && !model.actions.includes(filter.action) ? [filter.action, ...model.actions] : model.actions;
  return (
    <ConsoleLayout admin={admin} section="audit" title="Audit log">
      <p class="muted">Who did what to whom, newest first. Times are UTC.</p>
      <form method="get" action="/admin/audit" class="filters" role="search" aria-label="Filter audit events">
        <FilterText label="Actor" name="actor" value={filter.actor} placeholder="username or system" />
        <FilterSelect
          label="Action"
          name="action"
          value={filter.action}
          options={actions.map((action) => [action, action] as const)}
        />
        <FilterText label="Target id" name="target" value={filter.target} placeholder="an id" />
        <FilterText
          label="From (UTC)"
          name="since"
          value={filter.since}
          placeholder="2026-11-25T00:00Z"
          describedBy="filter-time-hint"
        />
        <FilterText
          label="Until (UTC)"
          name="until"
          value={filter.until}
          placeholder="2026-11-26T00:00Z"
          describedBy="filter-time-hint"
        />
        <button type="submit">Filter</button>
        <a href="/admin/audit">Clear</a>
        <p class="muted hint" id="filter-time-hint">
          Times in ISO 8601: a date (2026-11-25) or a date and time with its offset (2026-11-25T08:00:00Z). From is
          inclusive, until exclusive.
        </p>
      </form>
      {model.problem && (
        <p class="error" role="alert">
          {model.problem}
        </p>
      )}
      {model.items.length ? (
        <table class="audit">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Actor</th>
              <th scope="col">Action</th>
              <th scope="col">Target</th>
              <th scope="col">Details</th>
              <th scope="col">Address</th>
              <th scope="col">Request id</th>
            </tr>
          </thead>
          <tbody>
            {model.items.map((event) => (
              <tr key={event.id} data-event={event.id}>
                <td data-label="When">
                  <Time value={event.at} />
                </td>
                <td data-label="Actor">
                  <Actor event={event} model={model} />
                </td>
                <td data-label="Action">
                  <code>{event.action}</code>
                </td>
                <td data-label="Target">
                  <Target event={event} model={model} />
                </td>
                <td data-label="Details">
                  {event.details && Object.keys(event.details).length ? (
                    <code class="details">{JSON.stringify(event.details)}</code>
                  ) : (
                    <span class="muted">—</span>
                  )}
                </td>
                <td data-label="Address">{event.ip ?? <span class="muted">—</span>}</td>
                <td data-label="Request id">
                  {event.requestId ? <code class="copy">{event.requestId}</code> : <span class="muted">—</span>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        !model.problem && <p class="muted">No audit events match.</p>
      )}
      <Pager path="/admin/audit" query={filter} total={model.total} limit={model.limit} offset={model.offset} />
    </ConsoleLayout>
  );
}

export const auditPage = (admin: ConsoleAdmin, model: AuditModel): string =>
  render(<AuditPage admin={admin} model={model} />);
