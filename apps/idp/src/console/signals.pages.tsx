import type { SsfSubjectFormat } from '@signoff/core';
import type { ReceiverView } from '@signoff/ssf';
import { Form, RadioGroup, render } from '../http/layout';
import { Badge, ConsoleLayout, Field, type FormProblem, Notice, Problems, Time } from './console-layout';
import type { ConsoleAdmin } from './console.guard';

/** How events may name the user, as the console offers it: [format, label, guidance]. */
export const SUBJECT_FORMATS: ReadonlyArray<readonly [SsfSubjectFormat, string, string]> = [
  ['iss_sub', 'Issuer and subject', "Signoff's issuer and the user's subject (the public OIDC sub)."],
  ['email', 'Email address', 'The email address (issuer and subject for a user without one).'],
];

const METHODS: Record<string, string> = {
  'urn:ietf:rfc:8935': 'push (RFC 8935)',
  'urn:ietf:rfc:8936': 'poll (RFC 8936)',
};

/** Event type URIs in words: the last path segment, which names it (session-revoked, …). */
const eventName = (type: string) => type.slice(type.lastIndexOf('/') + 1);

export interface SignalsModel {
  receivers: ReceiverView[];
  notice?: string;
  /** The transmitter's metadata URL, for the page's explanation. */
  metadataUrl: string;
}

export function SignalsPage({ admin, model }: { admin: ConsoleAdmin; model: SignalsModel }) {
  return (
    <ConsoleLayout admin={admin} section="signals" title="Shared Signals receivers">
      {model.notice && <Notice>{model.notice}</Notice>}
      <p class="muted">
        Receivers get signed security events (CAEP session revoked, credential change; RISC account disabled and
        enabled) when sessions end, passwords change and accounts are deactivated, through the same retried deliveries
        as logouts. Register one here and give it its token: it creates its stream itself, as{' '}
        <a href={model.metadataUrl}>the transmitter's metadata</a> describes.
      </p>
      <div class="actions">
        <a href="/admin/signals/new">New receiver</a>
      </div>
      {model.receivers.length ? (
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Audience</th>
              <th scope="col">Stream</th>
              <th scope="col">Status</th>
              <th scope="col">Registered</th>
            </tr>
          </thead>
          <tbody>
            {model.receivers.map((receiver) => (
              <tr key={receiver.id} data-receiver={receiver.id}>
                <td data-label="Name">
                  <a href={`/admin/signals/${receiver.id}`}>{receiver.name}</a>
                  <p class="muted">{receiver.slug}</p>
                </td>
                <td data-label="Audience">
                  <code class="copy">{receiver.audience}</code>
                </td>
                <td data-label="Stream">
                  {receiver.stream ? METHODS[receiver.stream.deliveryMethod] : <span class="muted">none yet</span>}
                </td>
                <td data-label="Status">{receiver.stream ? <Badge status={receiver.stream.status} /> : '—'}</td>
                <td data-label="Registered">
                  <Time value={receiver.createdAt} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p class="muted">No receiver is registered.</p>
      )}
    </ConsoleLayout>
  );
}

/** The create form as typed, when it came back with a problem. */
export interface ReceiverFields {
  name?: string;
  slug?: string;
  audience?: string;
  subjectFormat?: string;
}

export function NewReceiverPage({
  admin,
  fields,
  problem,
}: {
  admin: ConsoleAdmin;
  fields: ReceiverFields;
  problem?: FormProblem;
}) {
  return (
    <ConsoleLayout admin={admin} section="signals" title="New Shared Signals receiver">
      <p class="muted">Its token is shown once, on the next page.</p>
      <Problems problem={problem} />
      <Form action="/admin/signals/new" csrf={admin.csrf}>
        <Field
          label="Name"
          name="name"
          value={fields.name}
          error={problem?.fields.name}
          hint="Shown on the logout operations that told it, such as “Zero-trust proxy”."
          required
          autocomplete="off"
        />
        <Field
          label="Slug (optional)"
          name="slug"
          value={fields.slug}
          error={problem?.fields.slug}
          hint="Lower-case letters, digits and dashes; made from the name when left blank."
          autocomplete="off"
        />
        <Field
          label="Audience (optional)"
          name="audience"
          value={fields.audience}
          error={problem?.fields.audience}
          hint="The aud of its stream and of every event it gets, as the receiver expects it; a URL of Signoff's when left blank."
          autocomplete="off"
        />
        <RadioGroup
          legend="How events name the user"
          name="subjectFormat"
          prefix="subject-format"
          options={SUBJECT_FORMATS.map(([value, label, hint]) => ({ value, label, hint }))}
          checked={fields.subjectFormat ?? 'iss_sub'}
        />
        <button type="submit">Register receiver</button>
      </Form>
    </ConsoleLayout>
  );
}

export interface ReceiverTokenModel {
  receiver: ReceiverView;
  token: string;
  /** Where the receiver creates its stream, for the example call. */
  configurationEndpoint: string;
  rotated: boolean;
}

/** The one page that shows a receiver's token: served with Cache-Control: no-store, never reached by a URL. */
export function ReceiverTokenPage({ admin, model }: { admin: ConsoleAdmin; model: ReceiverTokenModel }) {
  const { receiver } = model;
  return (
    <ConsoleLayout
      admin={admin}
      section="signals"
      title={model.rotated ? 'New token for the receiver' : 'Shared Signals receiver registered'}
    >
      <Notice>
        Copy the token now: this is the only time Signoff shows it.{' '}
        {model.rotated ? 'The old token no longer works.' : 'Signoff keeps only its hash.'}
      </Notice>
      <dl class="facts">
        <dt>Receiver</dt>
        <dd>
          <a href={`/admin/signals/${receiver.id}`}>{receiver.name}</a>
        </dd>
        <dt>Audience</dt>
        <dd>
          <code class="copy">{receiver.audience}</code>
        </dd>
        <dt>Token</dt>
        <dd>
          <code class="copy secret" id="receiver-token">
            {model.token}
          </code>
        </dd>
      </dl>
      <h2>Creating its stream</h2>
      <p>The receiver creates its stream with its token; to poll for events:</p>
      <pre class="example">
        <code>
          curl -H "Authorization: Bearer {model.token}" -H "Content-Type: application/json" -d{' '}
          {`'{"events_requested": ["https://schemas.openid.net/secevent/caep/event-type/session-revoked"]}'`}{' '}
          {model.configurationEndpoint}
        </code>
      </pre>
      <p>
        To have them pushed, it adds{' '}
        <code>{`"delivery": {"method": "urn:ietf:rfc:8935", "endpoint_url": "https://…"}`}</code>.
      </p>
      <p>
        <a href="/admin/signals">Back to the receivers</a>
      </p>
    </ConsoleLayout>
  );
}

export function ReceiverPage({
  admin,
  receiver,
  notice,
  problem,
}: {
  admin: ConsoleAdmin;
  receiver: ReceiverView;
  notice?: string;
  problem?: FormProblem;
}) {
  const stream = receiver.stream;
  return (
    <ConsoleLayout admin={admin} section="signals" title={receiver.name}>
      {notice && <Notice>{notice}</Notice>}
      <Problems problem={problem} />
      <dl class="facts">
        <dt>Slug</dt>
        <dd>{receiver.slug}</dd>
        <dt>Audience</dt>
        <dd>
          <code class="copy">{receiver.audience}</code>
        </dd>
        <dt>Names users by</dt>
        <dd>{SUBJECT_FORMATS.find(([key]) => key === receiver.subjectFormat)?.[1] ?? receiver.subjectFormat}</dd>
        <dt>Registered</dt>
        <dd>
          <Time value={receiver.createdAt} />
        </dd>
      </dl>
      <h2>Stream</h2>
      {stream ? (
        <dl class="facts">
          <dt>Stream id</dt>
          <dd>
            <code class="copy">{stream.streamId}</code>
          </dd>
          <dt>Status</dt>
          <dd>
            <Badge status={stream.status} />
            {stream.reason && <span class="muted"> {stream.reason}</span>}
          </dd>
          <dt>Delivery</dt>
          <dd>
            {METHODS[stream.deliveryMethod] ?? stream.deliveryMethod}
            {stream.endpointUrl && (
              <>
                {' '}
                to <code class="copy">{stream.endpointUrl}</code>
              </>
            )}
          </dd>
          <dt>Events delivered</dt>
          <dd>
            {stream.eventsDelivered.length ? (
              stream.eventsDelivered.map(eventName).join(', ')
            ) : (
              <span class="muted">none (the receiver requested none that Signoff sends)</span>
            )}
          </dd>
          {stream.description && (
            <>
              <dt>Description</dt>
              <dd>{stream.description}</dd>
            </>
          )}
          <dt>Updated</dt>
          <dd>
            <Time value={stream.updatedAt} />
          </dd>
        </dl>
      ) : (
        <p class="muted">The receiver has not created its stream yet.</p>
      )}
      <p>
        <a href={`/admin/logouts?application=${receiver.id}`}>Events sent to it</a>
      </p>
      <h2>Token</h2>
      <Form action={`/admin/signals/${receiver.id}/token`} csrf={admin.csrf}>
        <p class="muted">A new token replaces the old one at once: the receiver needs the new one for its next call.</p>
        <button type="submit">New token</button>
      </Form>
      <h2>Delete</h2>
      <Form action={`/admin/signals/${receiver.id}/delete`} csrf={admin.csrf}>
        <p class="muted">
          Its token stops working and the events it was owed and not sent are dropped. The logout operations that told
          it keep its name.
        </p>
        <div class="check">
          <input type="checkbox" id="confirm-delete" name="confirm" value="yes" required />
          <label for="confirm-delete">Yes, delete {receiver.name}</label>
        </div>
        <button type="submit" class="danger">
          Delete receiver
        </button>
      </Form>
    </ConsoleLayout>
  );
}

export const signalsPage = (admin: ConsoleAdmin, model: SignalsModel): string =>
  render(<SignalsPage admin={admin} model={model} />);
export const newReceiverPage = (admin: ConsoleAdmin, fields: ReceiverFields, problem?: FormProblem): string =>
  render(<NewReceiverPage admin={admin} fields={fields} problem={problem} />);
export const receiverTokenPage = (admin: ConsoleAdmin, model: ReceiverTokenModel): string =>
  render(<ReceiverTokenPage admin={admin} model={model} />);
export const receiverPage = (
  admin: ConsoleAdmin,
  receiver: ReceiverView,
  notice?: string,
  problem?: FormProblem,
): string => render(<ReceiverPage admin={admin} receiver={receiver} notice={notice} problem={problem} />);
