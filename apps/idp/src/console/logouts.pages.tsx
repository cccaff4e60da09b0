import { BACKCHANNELS, type DeliveryChannel, type LogoutTrigger } from '@signoff/core';
import type { DeliveryWithProvider, OperationListing, OperationOverview } from '@signoff/logout';
import { Form, render } from '../http/layout';
import { Badge, ConsoleLayout, FilterSelect, FilterText, Notice, Pager, Time } from './console-layout';
import type { ConsoleAdmin } from './console.guard';
import type { ApplicationOption } from './sessions.pages';

/** What started a logout, in words. */
export const TRIGGERS: Record<LogoutTrigger, string> = {
  user_logout: 'user signed out at Signoff',
  rp_initiated: 'OIDC application signed the user out',
  sp_initiated: 'SAML application signed the user out',
  admin_session: 'administrator ended a session',
  user_deactivated: 'user deactivated',
  password_changed: 'password changed',
  global_revocation: 'global token revocation',
  expiry: 'session expired',
  api: 'API',
  user_activated: 'user activated (security events only)',
  ssf_verification: 'Shared Signals stream verification',
};

/** A security event's type, by the last segment of its URI (session-revoked, account-disabled, …). */
const eventTypeOf = (event: { events: Record<string, unknown> }): string => {
  const type = Object.keys(event.events)[0] ?? '';
  return type.slice(type.lastIndexOf('/') + 1);
};

/** How a delivery reaches its application, in words. */
export const CHANNELS: Record<DeliveryChannel, string> = {
  backchannel_oidc: 'OIDC back channel (logout token)',
  frontchannel_oidc: 'OIDC front channel (iframe)',
  backchannel_saml: 'SAML back channel (SOAP or POST)',
  frontchannel_saml_iframe: 'SAML front channel (iframe)',
  frontchannel_saml_native: 'SAML front channel (redirects in the tab)',
  ssf_push: 'Shared Signals push (security event)',
  ssf_poll: 'Shared Signals poll (security event)',
};

export const OUTCOMES = ['complete', 'partial', 'failed', 'open'] as const;
export const DELIVERY_STATUSES = [
  'pending',
  'queued',
  'sending',
  'held',
  'succeeded',
  'failed',
  'dead',
  'skipped',
] as const;

export interface LogoutsModel {
  items: OperationListing[];
  total: number;
  limit: number;
  offset: number;
  filter: Record<
    'trigger' | 'outcome' | 'user' | 'application' | 'since' | 'until' | 'delivery_status',
    string | undefined
  >;
  applications: ApplicationOption[];
  /** Usernames of the users the listed operations are about. */
  usernames: ReadonlyMap<string, string>;
  /** A filter the lib refused (an unknown user, a bad time), said above the list. */
  problem?: string;
}

function Counts({ counts }: { counts: OperationListing['deliveryCounts'] }) {
  const entries = Object.entries(counts).filter(([, n]) => n);
  if (!entries.length) return <span class="muted">none</span>;
  return (
    <>
      {entries.map(([status, n]) => (
        <span key={status}>
          <Badge status={status} /> {n}{' '}
        </span>
      ))}
    </>
  );
}

export function LogoutsPage({ admin, model }: { admin: ConsoleAdmin; model: LogoutsModel }) {
  const { filter } = model;
  return (
    <ConsoleLayout admin={admin} section="logouts" title="Logouts">
      <form method="get" action="/admin/logouts" class="filters" role="search" aria-label="Filter logouts">
        <FilterSelect label="Started by" name="trigger" value={filter.trigger} options={Object.entries(TRIGGERS)} />
        <FilterSelect
          label="Outcome"
          name="outcome"
          value={filter.outcome}
          options={OUTCOMES.map((outcome) => [outcome, outcome] as const)}
        />
        <FilterSelect
          label="With a delivery"
          name="delivery_status"
          value={filter.delivery_status}
          options={DELIVERY_STATUSES.map((status) => [status, status] as const)}
        />
        <FilterText label="User" name="user" value={filter.user} placeholder="username" />
        <FilterSelect
          label="Application"
          name="application"
          value={filter.application}
          options={model.applications.map((app) => [app.id, app.name] as const)}
        />
        <FilterText label="From (UTC)" name="since" value={filter.since} placeholder="2026-11-25T00:00Z" />
        <FilterText label="Until (UTC)" name="until" value={filter.until} placeholder="2026-11-26T00:00Z" />
        <button type="submit">Filter</button>
      </form>
      {model.problem && (
        <p class="error" role="alert">
          {model.problem}
        </p>
      )}
      {model.items.length ? (
        <table>
          <thead>
            <tr>
              <th scope="col">Started</th>
              <th scope="col">What</th>
              <th scope="col">Users</th>
              <th scope="col">Deliveries</th>
              <th scope="col">Outcome</th>
            </tr>
          </thead>
          <tbody>
            {model.items.map((operation) => (
              <tr key={operation.id}>
                <td data-label="Started">
                  <a href={`/admin/logouts/${operation.id}`}>
                    <Time value={operation.createdAt} />
                  </a>
                </td>
                <td data-label="What">{TRIGGERS[operation.trigger] ?? operation.trigger}</td>
                <td data-label="Users">
                  {operation.userIds.map((id) => model.usernames.get(id) ?? id.slice(0, 8)).join(', ') || '—'}
                </td>
                <td data-label="Deliveries">
                  <Counts counts={operation.deliveryCounts} />
                </td>
                <td data-label="Outcome">
                  <Badge status={operation.outcome} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p class="muted">No logouts match.</p>
      )}
      <Pager path="/admin/logouts" query={filter} total={model.total} limit={model.limit} offset={model.offset} />
    </ConsoleLayout>
  );
}

type Delivery = DeliveryWithProvider;

const retryable = (delivery: Delivery) =>
  BACKCHANNELS.includes(delivery.channel) && (delivery.status === 'failed' || delivery.status === 'dead');

export interface LogoutModel {
  operation: OperationOverview;
  /** A page of its deliveries (LogoutOperationsService.deliveriesOf: those not confirmed first). */
  deliveries: Delivery[];
  limit: number;
  offset: number;
  usernames: ReadonlyMap<string, string>;
  userIds: string[];
  /** Who started it, in words (a username for an administrator or user, an application's name). */
  initiator: string;
  notice?: string;
}

function Attempts({ delivery }: { delivery: Delivery }) {
  if (!delivery.attemptLog.length) return <span class="muted">no attempt yet</span>;
  return (
    <ol class="attempts">
      {delivery.attemptLog.map((attempt, index) => (
        <li key={index}>
          <Time value={attempt.at} /> · {attempt.ms} ms ·{' '}
          {attempt.httpStatus ? `HTTP ${attempt.httpStatus}` : 'no HTTP'} · <Badge status={attempt.result} />
          {attempt.error && <> · {attempt.error}</>}
        </li>
      ))}
    </ol>
  );
}

export function LogoutPage({ admin, model }: { admin: ConsoleAdmin; model: LogoutModel }) {
  const { operation, deliveries } = model;
  const open = !operation.completedAt;
  const counts = operation.deliveryCounts;
  const total = Object.values(counts).reduce((sum, count) => sum + (count ?? 0), 0);
  const confirmed = counts.succeeded ?? 0;
  const failedOrDead = (counts.failed ?? 0) + (counts.dead ?? 0);
  return (
    <ConsoleLayout admin={admin} section="logouts" title="Logout" live={open}>
      {model.notice && <Notice>{model.notice}</Notice>}
      <dl class="facts">
        <dt>What</dt>
        <dd>{TRIGGERS[operation.trigger] ?? operation.trigger}</dd>
        <dt>Started by</dt>
        <dd>{model.initiator}</dd>
        <dt>Users</dt>
        <dd>
          {model.userIds.length
            ? model.userIds.map((id, index) => (
                <span key={id}>
                  {index > 0 && ', '}
                  <a href={`/admin/users/${id}`}>{model.usernames.get(id) ?? id}</a>
                </span>
              ))
            : '—'}
        </dd>
        <dt>Started</dt>
        <dd>
          <Time value={operation.createdAt} />
        </dd>
        <dt>IdP sessions ended</dt>
        <dd>{operation.idpSessionIds.length}</dd>
      </dl>
      <section id="deliveries" aria-live="polite" data-live-refresh={open ? '2000' : undefined}>
        <p>
          Outcome: <Badge status={operation.outcome} />{' '}
          {open ? (
            <span class="muted">still under way; this page follows it.</span>
          ) : (
            <>
              settled <Time value={operation.completedAt} />
            </>
          )}
        </p>
        {operation.writing && (
          <p id="deliveries-writing">
            Some of its deliveries are still being written (a large logout writes them just after it ends the sessions):
            the counts and the list below are not whole yet.
          </p>
        )}
        {total > 0 && (
          <p id="delivery-counts">
            {total} {total === 1 ? 'delivery' : 'deliveries'}: {confirmed} confirmed, {failedOrDead} failed or dead
            {total - confirmed - failedOrDead > 0 && <>, {total - confirmed - failedOrDead} not done yet</>}.
          </p>
        )}
        {operation.retryable > 1 && (
          <Form action={`/admin/logouts/${operation.id}/retry`} csrf={admin.csrf}>
            <button type="submit">Retry all {operation.retryable} failed deliveries</button>
          </Form>
        )}
        <h2>Deliveries</h2>
        {total > model.limit && (
          <p class="muted">Those not confirmed come first: failed and dead, then those under way.</p>
        )}
        {deliveries.length ? (
          <table>
            <thead>
              <tr>
                <th scope="col">Application</th>
                <th scope="col">Channel</th>
                <th scope="col">Status</th>
                <th scope="col">Attempts</th>
                <th scope="col">Message id</th>
                <th scope="col">
                  <span class="muted">Action</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {deliveries.map((delivery) => (
                <tr key={delivery.id} data-delivery={delivery.id}>
                  <td data-label="Application">
                    {delivery.provider.name}
                    {delivery.provider.deletedAt && ' (deleted)'}
                  </td>
                  <td data-label="Channel">
                    {CHANNELS[delivery.channel] ?? delivery.channel}
                    {delivery.event && <p class="muted">{eventTypeOf(delivery.event)}</p>}
                  </td>
                  <td data-label="Status">
                    <Badge status={delivery.status} />
                    {delivery.lastError && <p class="muted">{delivery.lastError}</p>}
                  </td>
                  <td data-label="Attempts">
                    <Attempts delivery={delivery} />
                  </td>
                  <td data-label="Message id">
                    <code class="copy">{delivery.messageId ?? '—'}</code>
                  </td>
                  <td>
                    {retryable(delivery) && (
                      <Form action={`/admin/logouts/${operation.id}/deliveries/${delivery.id}/retry`} csrf={admin.csrf}>
                        <button type="submit" aria-label={`Retry the delivery to ${delivery.provider.name}`}>
                          Retry
                        </button>
                      </Form>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          total === 0 && <p class="muted">No application was in these sessions: nobody had to be told.</p>
        )}
        {total > model.limit && (
          <Pager
            path={`/admin/logouts/${operation.id}`}
            query={{ limit: String(model.limit) }}
            total={total}
            limit={model.limit}
            offset={model.offset}
          />
        )}
      </section>
    </ConsoleLayout>
  );
}

export const logoutsPage = (admin: ConsoleAdmin, model: LogoutsModel): string =>
  render(<LogoutsPage admin={admin} model={model} />);
export const logoutPage = (admin: ConsoleAdmin, model: LogoutModel): string =>
  render(<LogoutPage admin={admin} model={model} />);
