import type { Dashboard } from '../admin/dashboard.service';
import { render } from '../http/layout';
import { ConsoleLayout } from './console-layout';
import type { ConsoleAdmin } from './console.guard';

const DAY_MS = 24 * 60 * 60 * 1000;

const ageOf = (from: Date, now: Date): string => {
  const seconds = Math.max(0, Math.round((now.getTime() - from.getTime()) / 1000));
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 3600)} h`;
};

function Card({ label, value, href, note }: { label: string; value: string | number; href?: string; note?: string }) {
  return (
    <li>
      {href ? (
        <a href={href}>
          <span class="value">{value}</span>
          {label}
        </a>
      ) : (
        <>
          <span class="value">{value}</span>
          {label}
        </>
      )}
      {note && <p class="muted">{note}</p>}
    </li>
  );
}

export function DashboardPage({ admin, model }: { admin: ConsoleAdmin; model: Dashboard }) {
  const since = encodeURIComponent(new Date(model.at.getTime() - DAY_MS).toISOString());
  const logouts = (outcome: string) => `/admin/logouts?outcome=${outcome}&since=${since}`;
  return (
    <ConsoleLayout admin={admin} section="dashboard" title="Dashboard">
      <h2>Sessions</h2>
      <ul class="cards">
        <Card label="live IdP sessions" value={model.sessions.live} href="/admin/sessions" />
        <Card
          label="logins in the last 24 h"
          value={model.sessions.loginsLast24h}
          href={`/admin/audit?action=session.started&since=${since}`}
        />
      </ul>
      <h2>Logouts in the last 24 h</h2>
      <ul class="cards">
        <Card label="complete" value={model.operationsLast24h.complete} href={logouts('complete')} />
        <Card label="partial" value={model.operationsLast24h.partial} href={logouts('partial')} />
        <Card label="failed" value={model.operationsLast24h.failed} href={logouts('failed')} />
        <Card label="still under way" value={model.operationsLast24h.open} href={logouts('open')} />
      </ul>
      <h2>Deliveries</h2>
      <ul class="cards">
        <Card
          label="failed in the last 24 h"
          value={model.deliveriesFailing}
          href={`/admin/logouts?delivery_status=failed&since=${since}`}
        />
        <Card
          label="dead in the last 24 h"
          value={model.deliveriesDead}
          href={`/admin/logouts?delivery_status=dead&since=${since}`}
          note="Out of attempts: retry them from the logout's page."
        />
        <Card
          label="waiting in the outbox"
          value={model.outbox.pending}
          href="/admin/logouts?outcome=open"
          note={
            model.outbox.oldestPendingAt
              ? `Oldest waiting for ${ageOf(model.outbox.oldestPendingAt, model.at)}.`
              : 'Nothing is waiting.'
          }
        />
        <Card
          label="delivery queue (Redis)"
          value={model.queue.reachable ? 'reachable' : 'unreachable'}
          note={
            model.queue.reachable
              ? undefined
              : 'Deliveries wait in the outbox and go out once the queue is back: late, not lost.'
          }
        />
      </ul>
    </ConsoleLayout>
  );
}

export const dashboardPage = (admin: ConsoleAdmin, model: Dashboard): string =>
  render(<DashboardPage admin={admin} model={model} />);
