import type { SigningKeyView } from '@signoff/core';
import type { SignoffEndpoints } from '../admin/endpoints';
import { Form, render } from '../http/layout';
import { Badge, ConsoleLayout, Notice, Time } from './console-layout';
import type { ConsoleAdmin } from './console.guard';

/** The key sets, in the order KeysService.list() gives them, with what each one signs. */
const SETS: ReadonlyArray<{ use: SigningKeyView['use']; alg: SigningKeyView['alg']; title: string; signs: string }> = [
  { use: 'oidc', alg: 'ES256', title: 'OIDC ES256', signs: 'ID tokens and logout tokens (the default algorithm)' },
  {
    use: 'oidc',
    alg: 'RS256',
    title: 'OIDC RS256',
    signs: 'ID tokens and logout tokens of clients that ask for RS256',
  },
  { use: 'saml', alg: 'RS256', title: 'SAML RS256', signs: 'SAML assertions, responses and logout messages' },
];

const STATE_WORDS: Record<SigningKeyView['state'], string> = {
  next: 'published ahead; signs after the next rotation',
  active: 'signs now',
  retired: 'no longer signs; published a while longer',
};

/** The order of a set's keys on the page: the one signing now first (the sort is stable: newest retired first). */
const STATE_ORDER: Record<SigningKeyView['state'], number> = { active: 0, next: 1, retired: 2 };

/** A duration in the largest whole unit that says it (7 days, 36 hours, 90 minutes). */
export function spoken(ms: number): string {
  const units: Array<[number, string]> = [
    [86_400_000, 'day'],
    [3_600_000, 'hour'],
    [60_000, 'minute'],
    [1000, 'second'],
  ];
  for (const [size, unit] of units)
    if (ms >= size && ms % size === 0) return `${ms / size} ${unit}${ms / size === 1 ? '' : 's'}`;
  return `${ms} ms`;
}

export interface KeysModel {
  keys: SigningKeyView[];
  endpoints: SignoffEndpoints;
  /** KEY_RETIRED_PUBLISHED_FOR. */
  retiredPublishedMs: number;
  notice?: string;
}

function Published({ signingKey }: { signingKey: SigningKeyView }) {
  if (!signingKey.publishedUntil) return <>while {signingKey.state}</>;
  return (
    <>
      <Time value={signingKey.publishedUntil} />
      {!signingKey.published && <span class="muted"> (no longer published)</span>}
    </>
  );
}

function KeySet({ set, keys }: { set: (typeof SETS)[number]; keys: SigningKeyView[] }) {
  const id = `set-${set.use}-${set.alg.toLowerCase()}`;
  return (
    <section aria-labelledby={id}>
      <h2 id={id}>{set.title}</h2>
      <p class="muted">Signs {set.signs}.</p>
      <table>
        <thead>
          <tr>
            <th scope="col">State</th>
            <th scope="col">Key id (kid)</th>
            <th scope="col">Created</th>
            <th scope="col">Activated</th>
            <th scope="col">Retired</th>
            <th scope="col">Published until</th>
          </tr>
        </thead>
        <tbody>
          {keys.map((key) => (
            <tr key={key.kid} data-state={key.state}>
              <td data-label="State">
                <Badge status={key.state} /> <span class="muted">{STATE_WORDS[key.state]}</span>
              </td>
              <td data-label="Key id">
                <code class="copy">{key.kid}</code>
                {key.certificateNotAfter && (
                  <p class="muted">
                    Certificate valid until <Time value={key.certificateNotAfter} />
                  </p>
                )}
              </td>
              <td data-label="Created">
                <Time value={key.createdAt} />
              </td>
              <td data-label="Activated">
                <Time value={key.activatedAt} />
              </td>
              <td data-label="Retired">
                <Time value={key.retiredAt} />
              </td>
              <td data-label="Published until">
                <Published signingKey={key} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** One address to copy: its label, the value in a code element, and what it is for. */
function Address({ label, value, note }: { label: string; value: string; note?: string }) {
  return (
    <>
      <dt>{label}</dt>
      <dd>
        <code class="copy">{value}</code>
        {note && <p class="muted">{note}</p>}
      </dd>
    </>
  );
}

export function KeysPage({ admin, model }: { admin: ConsoleAdmin; model: KeysModel }) {
  const { oidc, saml } = model.endpoints;
  return (
    <ConsoleLayout admin={admin} section="keys" title="Keys">
      {model.notice && <Notice>{model.notice}</Notice>}
      <p class="muted">
        Each key set has an <strong>active</strong> key that signs, a <strong>next</strong> key that is already
        published so applications learn it before it signs, and <strong>retired</strong> keys that stay published for{' '}
        {spoken(model.retiredPublishedMs)} (KEY_RETIRED_PUBLISHED_FOR) so signatures made just before a rotation keep
        verifying. Private keys never leave the server.
      </p>
      <div class="actions">
        <a href="/admin/keys/rotate">Rotate keys…</a>
      </div>
      {SETS.map((set) => (
        <KeySet
          key={`${set.use}-${set.alg}`}
          set={set}
          keys={model.keys
            .filter((key) => key.use === set.use && key.alg === set.alg)
            .sort((a, b) => STATE_ORDER[a.state] - STATE_ORDER[b.state])}
        />
      ))}

      <h2 id="endpoints">Addresses for applications</h2>
      <p class="muted">What an OIDC relying party or a SAML service provider is configured with.</p>
      <h3>OpenID Connect</h3>
      <dl class="facts">
        <Address label="Issuer" value={oidc.issuer} note="The iss of every token." />
        <Address label="Discovery URL" value={oidc.discovery} note="Most relying parties need only this." />
        <Address label="JWKS URL" value={oidc.jwks} note="The next, active and recently retired keys." />
      </dl>
      <h3>SAML 2.0</h3>
      <dl class="facts">
        <Address label="IdP entityID" value={saml.entityId} />
        <Address label="Metadata URL" value={saml.metadata} note="Signed; most SPs need only this." />
        <Address label="Single sign-on (Redirect, POST)" value={saml.singleSignOn} />
        <Address label="Single logout (Redirect, POST)" value={saml.singleLogout} />
        <Address label="Single logout (SOAP)" value={saml.singleLogoutSoap} />
      </dl>
    </ConsoleLayout>
  );
}

export interface RotateModel {
  /** The active and next key of each set, as they are before the rotation. */
  keys: SigningKeyView[];
  retiredPublishedMs: number;
  /** Until when the keys retired by a rotation made now stay published. */
  retiredUntil: Date;
}

export function RotateKeysPage({ admin, model }: { admin: ConsoleAdmin; model: RotateModel }) {
  const current = (set: (typeof SETS)[number], state: 'active' | 'next') =>
    model.keys.find((key) => key.use === set.use && key.alg === set.alg && key.state === state)?.kid;
  return (
    <ConsoleLayout admin={admin} section="keys" title="Rotate keys">
      <p>Rotating changes every key set (OIDC ES256, OIDC RS256, SAML RS256) at once:</p>
      <ol>
        <li>
          The <strong>next</strong> key becomes <strong>active</strong> and signs from now on. Applications already have
          it: it has been published since it was made.
        </li>
        <li>
          The <strong>active</strong> key is <strong>retired</strong>. It signs no more, but stays published until{' '}
          <Time value={model.retiredUntil} /> ({spoken(model.retiredPublishedMs)}), so what it signed keeps verifying.
        </li>
        <li>
          A new <strong>next</strong> key is made and published.
        </li>
      </ol>
      <p class="muted">
        Other Signoff processes may sign with the old key for up to 30 seconds; that is fine, as it is still published.
        SAML service providers that pin the IdP's certificate instead of reading the metadata need the new certificate
        before the following rotation.
      </p>
      <table>
        <thead>
          <tr>
            <th scope="col">Key set</th>
            <th scope="col">Active now (will be retired)</th>
            <th scope="col">Next (will sign)</th>
          </tr>
        </thead>
        <tbody>
          {SETS.map((set) => (
            <tr key={`${set.use}-${set.alg}`}>
              <td data-label="Key set">{set.title}</td>
              <td data-label="Active now">
                <code class="copy">{current(set, 'active') ?? '—'}</code>
              </td>
              <td data-label="Next">
                <code class="copy">{current(set, 'next') ?? '—'}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div class="actions confirm">
        <Form action="/admin/keys/rotate" csrf={admin.csrf}>
          <button type="submit" class="danger">
            Rotate every key set now
          </button>
        </Form>
        <a href="/admin/keys">Cancel</a>
      </div>
    </ConsoleLayout>
  );
}

export const keysPage = (admin: ConsoleAdmin, model: KeysModel): string =>
  render(<KeysPage admin={admin} model={model} />);
export const rotateKeysPage = (admin: ConsoleAdmin, model: RotateModel): string =>
  render(<RotateKeysPage admin={admin} model={model} />);
