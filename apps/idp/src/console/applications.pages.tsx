import type { FlowView } from '@signoff/flows';
import type { ProviderView } from '@signoff/providers';
import type { ComponentChildren } from 'preact';
import { Form, type RadioOption, RadioGroup, render, Script } from '../http/layout';
import {
  Badge,
  Check,
  Choice,
  ConsoleLayout,
  Field,
  type FormProblem,
  Notice,
  Problems,
  TextArea,
} from './console-layout';
import type { ConsoleAdmin } from './console.guard';

/**
 * What each logout method can and cannot reach, in plain words: the choice an administrator makes per
 * application, and the one they most often get wrong. OIDC Back-Channel Logout 1.0 and Front-Channel
 * Logout 1.0; SAML profiles §4.4 (Single Logout) and bindings §3.2 (SOAP).
 */
export const OIDC_LOGOUT_GUIDANCE = {
  backchannel:
    'Back channel: Signoff posts a signed logout token from its server to this URL. It reaches the application for every kind of logout — the user, another application, an administrator, expiry — even when the browser is closed. Prefer it.',
  frontchannel:
    "Front channel: the user's logout page loads this URL in a hidden iframe. It works only when the user signs out in a browser; administrator and expiry logouts skip it, and browsers that block third-party cookies can leave the application signed in.",
} as const;

export const SAML_LOGOUT_METHODS = [
  [
    'backchannel',
    'Back channel (SOAP or server-side POST)',
    "Signoff sends the LogoutRequest from its own server. It reaches the SP for every kind of logout, with or without a browser. Needs a SingleLogoutService that accepts server-to-server requests (SOAP, or a POST endpoint that does not rely on the user's cookies).",
  ],
  [
    'frontchannel_iframe',
    'Front channel, in an iframe',
    "The user's logout page loads the SP's SingleLogoutService in a hidden iframe, beside the others. Only when the user signs out in a browser: administrator and expiry logouts skip it, and third-party cookie blocking can keep the SP's session alive.",
  ],
  [
    'frontchannel_native',
    'Front channel, redirects in the tab',
    "The user's browser goes to the SP and back, one SP after the other. The SP sees its own cookies, so it works with the most SPs, but only when the user signs out in a browser; an SP that never answers holds the chain until its timeout.",
  ],
] as const;

const identifierOf = (app: ProviderView): string =>
  app.protocol === 'oidc' ? String(app.oidc?.client_id ?? '') : String(app.saml?.entityId ?? '');

const logoutOf = (app: ProviderView): string => {
  if (app.protocol === 'saml') return SAML_LOGOUT_METHODS.find(([key]) => key === app.saml?.logoutMethod)?.[1] ?? '—';
  const channels = [
    app.oidc?.backchannel_logout_uri && 'back channel',
    app.oidc?.frontchannel_logout_uri && 'front channel',
  ];
  return channels.filter(Boolean).join(' + ') || 'none: the application is never told';
};

export function ApplicationsPage({
  admin,
  applications,
  notice,
}: {
  admin: ConsoleAdmin;
  applications: ProviderView[];
  notice?: string;
}) {
  return (
    <ConsoleLayout admin={admin} section="applications" title="Applications">
      {notice && <Notice>{notice}</Notice>}
      <div class="actions">
        <a href="/admin/applications/new/oidc">New OIDC application</a>
        <a href="/admin/applications/new/saml">New SAML application</a>
      </div>
      {applications.length ? (
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Protocol</th>
              <th scope="col">Client id or entity id</th>
              <th scope="col">Logout</th>
              <th scope="col" class="num">
                Live sessions
              </th>
            </tr>
          </thead>
          <tbody>
            {applications.map((app) => (
              <tr key={app.id}>
                <td data-label="Name">
                  <a href={`/admin/applications/${app.id}`}>{app.name}</a>
                  {!app.enabled && (
                    <>
                      {' '}
                      <Badge status="disabled" />
                    </>
                  )}
                </td>
                <td data-label="Protocol">{app.protocol.toUpperCase()}</td>
                <td data-label="Identifier">
                  <code class="copy">{identifierOf(app)}</code>
                </td>
                <td data-label="Logout">{logoutOf(app)}</td>
                <td data-label="Live sessions" class="num">
                  <a href={`/admin/sessions?application=${app.id}`}>{app.liveSessions}</a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p class="muted">No application is registered yet.</p>
      )}
    </ConsoleLayout>
  );
}

/** The OIDC registration fields as the form has them (lists one URL per line). */
export interface OidcFields {
  name?: string;
  client_id?: string;
  redirect_uris?: string;
  post_logout_redirect_uris?: string;
  backchannel_logout_uri?: string;
  frontchannel_logout_uri?: string;
  token_endpoint_auth_method?: string;
  id_token_signed_response_alg?: string;
  subject_type?: string;
  logout_token_typ?: string;
  refresh_tokens?: boolean;
  backchannel_logout_session_required?: boolean;
  frontchannel_logout_session_required?: boolean;
  consentRequired?: boolean;
  invalidationFlowId?: string;
}

/** The invalidation flow of an application: the default, or one of the flows; those that end no session are marked. */
export function FlowSelect({ flows, value }: { flows: FlowView[]; value?: string | null }) {
  return (
    <div class="field">
      <label for="field-invalidationFlowId">Invalidation flow</label>
      <p class="muted hint" id="field-invalidationFlowId-hint">
        What runs when this application starts a logout. The default ends the whole Signoff session and tells every
        other application.
      </p>
      <select id="field-invalidationFlowId" name="invalidationFlowId" aria-describedby="field-invalidationFlowId-hint">
        <option value="">Default (default-provider-invalidation-flow)</option>
        {flows
          .filter((flow) => flow.slug !== 'default-provider-invalidation-flow')
          .map((flow) => (
            <option key={flow.id} value={flow.id} selected={flow.id === value}>
              {flow.name} ({flow.slug}){flow.endsNoSession ? ' — ends no session!' : ''}
            </option>
          ))}
      </select>
    </div>
  );
}

/** Asked for when the chosen flow ends no session: the request comes back with this box to tick. */
function ConfirmEndsNoSession({ problem }: { problem?: FormProblem }) {
  if (problem?.code !== 'flow_ends_no_session') return null;
  return (
    <Check
      label="I understand: with this flow, a logout started by this application signs nobody out."
      name="confirmEndsNoSession"
    />
  );
}

function OidcFieldset({ fields, problem }: { fields: OidcFields; problem?: FormProblem }) {
  const error = (name: string) => problem?.fields[`oidc.${name}`] ?? problem?.fields[name];
  return (
    <>
      <TextArea
        label="Redirect URIs"
        name="redirect_uris"
        value={fields.redirect_uris}
        error={error('redirect_uris')}
        hint="One per line; matched exactly."
      />
      <TextArea
        label="Post-logout redirect URIs"
        name="post_logout_redirect_uris"
        value={fields.post_logout_redirect_uris}
        error={error('post_logout_redirect_uris')}
        hint="One per line: where the application may send the user after RP-initiated logout."
      />
      <Field
        label="Back-channel logout URI"
        name="backchannel_logout_uri"
        type="url"
        value={fields.backchannel_logout_uri}
        error={error('backchannel_logout_uri')}
        hint={OIDC_LOGOUT_GUIDANCE.backchannel}
      />
      <Field
        label="Front-channel logout URI"
        name="frontchannel_logout_uri"
        type="url"
        value={fields.frontchannel_logout_uri}
        error={error('frontchannel_logout_uri')}
        hint={OIDC_LOGOUT_GUIDANCE.frontchannel}
      />
      <Check
        label="Send the session id (sid) in back-channel logout tokens"
        name="backchannel_logout_session_required"
        checked={fields.backchannel_logout_session_required ?? true}
      />
      <Check
        label="Send iss and sid to the front-channel logout URI"
        name="frontchannel_logout_session_required"
        checked={fields.frontchannel_logout_session_required ?? true}
      />
      <Choice
        label="Logout token type (typ)"
        name="logout_token_typ"
        value={fields.logout_token_typ ?? 'logout+jwt'}
        options={[
          ['logout+jwt', 'logout+jwt (Back-Channel Logout 1.0)'],
          ['JWT', 'JWT (older receivers that refuse logout+jwt)'],
        ]}
      />
      <Choice
        label="Client authentication"
        name="token_endpoint_auth_method"
        value={fields.token_endpoint_auth_method ?? 'client_secret_basic'}
        options={[
          ['client_secret_basic', 'Client secret, HTTP Basic (a server-side application)'],
          ['client_secret_post', 'Client secret, in the form body'],
          ['none', 'None: a public client (single-page or native app, with PKCE)'],
        ]}
      />
      <Check label="Refresh tokens (grant type refresh_token)" name="refresh_tokens" checked={fields.refresh_tokens} />
      <Choice
        label="ID token signature"
        name="id_token_signed_response_alg"
        value={fields.id_token_signed_response_alg ?? 'RS256'}
        options={[
          ['RS256', 'RS256'],
          ['ES256', 'ES256'],
        ]}
      />
      <Choice
        label="Subject identifier (sub)"
        name="subject_type"
        value={fields.subject_type ?? 'public'}
        options={[
          ['public', 'Public: the same sub at every application'],
          ['pairwise', 'Pairwise: a sub of its own for this application (OIDC Core §8.1)'],
        ]}
      />
      <Check
        label="Ask users for consent (a third-party application)"
        name="consentRequired"
        checked={fields.consentRequired}
      />
    </>
  );
}

export function NewOidcPage({
  admin,
  fields,
  flows,
  problem,
}: {
  admin: ConsoleAdmin;
  fields: OidcFields;
  flows: FlowView[];
  problem?: FormProblem;
}) {
  return (
    <ConsoleLayout admin={admin} section="applications" title="New OIDC application">
      <Problems problem={problem} />
      <Form action="/admin/applications/new/oidc" csrf={admin.csrf}>
        <Field label="Name" name="name" value={fields.name} error={problem?.fields.name} required />
        <Field
          label="Client id"
          name="client_id"
          value={fields.client_id}
          error={problem?.fields['oidc.client_id']}
          hint="Leave blank for a random one."
          autocomplete="off"
        />
        <OidcFieldset fields={fields} problem={problem} />
        <FlowSelect flows={flows} value={fields.invalidationFlowId} />
        <ConfirmEndsNoSession problem={problem} />
        <button type="submit">Register application</button>
      </Form>
    </ConsoleLayout>
  );
}

/** The SAML import form's fields. */
export interface SamlFields {
  name?: string;
  slug?: string;
  metadata?: string;
  metadataUrl?: string;
  logoutMethod?: string;
  invalidationFlowId?: string;
  slsBinding?: string;
  nameIdSource?: string;
  attributeProfile?: string;
  attributeMappings?: string;
  logoutReturnUrls?: string;
  signLogoutRequests?: boolean;
  requireSignedRequests?: boolean;
  encryptAssertions?: boolean;
}

function LogoutMethodChoice({ value, withDefault }: { value?: string; withDefault?: boolean }) {
  const automatic: RadioOption = {
    value: '',
    id: 'logout-auto',
    label: 'Let Signoff choose from the metadata',
    hint: 'The back channel when the metadata offers a SOAP SingleLogoutService, else the front channel in an iframe.',
  };
  return (
    <RadioGroup
      legend="How logouts reach this SP"
      name="logoutMethod"
      prefix="logout"
      options={[
        ...(withDefault ? [automatic] : []),
        ...SAML_LOGOUT_METHODS.map(([key, label, hint]) => ({ value: key, label, hint })),
      ]}
      checked={value ?? ''}
    />
  );
}

export function NewSamlPage({
  admin,
  fields,
  flows,
  problem,
}: {
  admin: ConsoleAdmin;
  fields: SamlFields;
  flows: FlowView[];
  problem?: FormProblem;
}) {
  return (
    <ConsoleLayout
      admin={admin}
      section="applications"
      title="New SAML application"
      head={<Script src="metadata-file.js" defer />}
    >
      <Problems problem={problem} />
      <Form action="/admin/applications/new/saml" csrf={admin.csrf}>
        <Field label="Name" name="name" value={fields.name} error={problem?.fields.name} required />
        <div class="field">
          <label for="metadata-file">Metadata file</label>
          <p class="muted hint" id="metadata-file-hint">
            Choose the SP's metadata XML file, paste it below, or give the URL it is published at.
          </p>
          <input
            id="metadata-file"
            type="file"
            accept=".xml,application/xml,text/xml"
            data-fills="field-metadata"
            aria-describedby="metadata-file-hint"
          />
        </div>
        <TextArea
          label="Metadata XML"
          name="metadata"
          value={fields.metadata}
          rows={8}
          error={problem?.fields['saml.metadata'] ?? problem?.fields.metadata}
        />
        <Field
          label="Metadata URL"
          name="metadataUrl"
          type="url"
          value={fields.metadataUrl}
          error={problem?.fields['saml.metadataUrl']}
          hint="Fetched now and refreshed by the worker; https only (or this machine)."
        />
        <LogoutMethodChoice value={fields.logoutMethod} withDefault />
        <FlowSelect flows={flows} value={fields.invalidationFlowId} />
        <ConfirmEndsNoSession problem={problem} />
        <button type="submit">Import application</button>
      </Form>
    </ConsoleLayout>
  );
}

/** A client secret, shown this once: it is stored hashed. */
export function SecretPage({
  admin,
  app,
  secret,
  title,
}: {
  admin: ConsoleAdmin;
  app: ProviderView;
  secret: string;
  title: string;
}) {
  return (
    <ConsoleLayout admin={admin} section="applications" title={title}>
      <Notice>Copy the client secret now: Signoff keeps only its hash and cannot show it again.</Notice>
      <dl class="facts">
        <dt>Application</dt>
        <dd>{app.name}</dd>
        <dt>Client id</dt>
        <dd>
          <code class="copy">{String(app.oidc?.client_id ?? '')}</code>
        </dd>
        <dt>Client secret</dt>
        <dd>
          <code class="copy" id="client-secret">
            {secret}
          </code>
        </dd>
      </dl>
      <p>
        <a href={`/admin/applications/${app.id}`}>Go to {app.name}</a>
      </p>
    </ConsoleLayout>
  );
}

export interface ApplicationModel {
  app: ProviderView;
  flows: FlowView[];
  fields?: OidcFields & SamlFields;
  problem?: FormProblem;
  notice?: string;
}

/** The OIDC form's fields from the client's registered metadata. */
export const oidcFieldsOf = (app: ProviderView): OidcFields => {
  const meta = (app.oidc ?? {}) as Record<string, unknown>;
  const lines = (value: unknown) => (Array.isArray(value) ? value.join('\n') : '');
  return {
    name: app.name,
    redirect_uris: lines(meta.redirect_uris),
    post_logout_redirect_uris: lines(meta.post_logout_redirect_uris),
    backchannel_logout_uri: typeof meta.backchannel_logout_uri === 'string' ? meta.backchannel_logout_uri : '',
    frontchannel_logout_uri: typeof meta.frontchannel_logout_uri === 'string' ? meta.frontchannel_logout_uri : '',
    token_endpoint_auth_method:
      typeof meta.token_endpoint_auth_method === 'string' ? meta.token_endpoint_auth_method : undefined,
    id_token_signed_response_alg:
      typeof meta.id_token_signed_response_alg === 'string' ? meta.id_token_signed_response_alg : undefined,
    subject_type: typeof meta.subject_type === 'string' ? meta.subject_type : undefined,
    logout_token_typ: typeof meta.logout_token_typ === 'string' ? meta.logout_token_typ : undefined,
    refresh_tokens: Array.isArray(meta.grant_types) && meta.grant_types.includes('refresh_token'),
    backchannel_logout_session_required: meta.backchannel_logout_session_required !== false,
    frontchannel_logout_session_required: meta.frontchannel_logout_session_required !== false,
    consentRequired: app.consentRequired,
    invalidationFlowId: app.invalidationFlowId ?? undefined,
  };
};

function Section({ id, title, children }: { id: string; title: string; children?: ComponentChildren }) {
  return (
    <section aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {children}
    </section>
  );
}

/** A SAML SP's settings, as the edit form shows them. */
function SamlSettings({ fields, problem }: { fields: SamlFields; problem?: FormProblem }) {
  const error = (name: string) => problem?.fields[`saml.${name}`] ?? problem?.fields[name];
  return (
    <>
      <LogoutMethodChoice value={fields.logoutMethod} />
      <Choice
        label="SingleLogoutService binding"
        name="slsBinding"
        value={fields.slsBinding}
        hint="Which of the SP's SingleLogoutService endpoints (from its metadata) logouts use."
        options={[
          ['soap', 'SOAP (back channel)'],
          ['post', 'HTTP-POST'],
          ['redirect', 'HTTP-Redirect'],
        ]}
      />
      <Check
        label="Sign the LogoutRequests Signoff sends"
        name="signLogoutRequests"
        checked={fields.signLogoutRequests}
      />
      <Check
        label="Require the SP to sign its requests (AuthnRequest, LogoutRequest)"
        name="requireSignedRequests"
        checked={fields.requireSignedRequests}
      />
      <Check
        label="Encrypt assertions (to the SP's encryption certificate)"
        name="encryptAssertions"
        checked={fields.encryptAssertions}
      />
      <Choice
        label="NameID"
        name="nameIdSource"
        value={fields.nameIdSource}
        options={[
          ['persistent', 'Persistent: an opaque id of its own for this SP'],
          ['email', 'Email address'],
          ['username', 'Username (unspecified format)'],
          ['transient', 'Transient: a new id every sign-in'],
        ]}
      />
      <Choice
        label="Attributes"
        name="attributeProfile"
        value={fields.attributeProfile}
        options={[
          [
            'standard',
            'Standard: subject-id, ePPN, uid, mail, displayName, givenName, sn, isMemberOf, plus the mappings',
          ],
          ['none', 'Only the mappings below'],
        ]}
      />
      <TextArea
        label="Attribute mappings (JSON)"
        name="attributeMappings"
        value={fields.attributeMappings}
        rows={5}
        error={error('attributeMappings')}
        hint='A list such as [{"name": "urn:oid:2.5.4.11", "nameFormat": "urn:oasis:names:tc:SAML:2.0:attrname-format:uri", "friendlyName": "ou", "value": "staff"}]: each takes "from" (a user field) or "value" (fixed). See docs/applications.md.'
      />
      <TextArea
        label="Logout return URLs"
        name="logoutReturnUrls"
        value={fields.logoutReturnUrls}
        error={error('logoutReturnUrls')}
        hint="One per line: where /logout?return_to= may end for this SP (exact, or one wildcard label)."
      />
      <TextArea
        label="Replace the metadata (XML)"
        name="metadata"
        rows={4}
        error={error('metadata')}
        hint="Leave blank to keep the current metadata. The entityID must stay the same."
      />
    </>
  );
}

export function ApplicationPage({ admin, model }: { admin: ConsoleAdmin; model: ApplicationModel }) {
  const { app } = model;
  type Fields = NonNullable<ApplicationModel['fields']>;
  const fields: Fields =
    model.fields ??
    (app.protocol === 'oidc'
      ? oidcFieldsOf(app)
      : {
          name: app.name,
          invalidationFlowId: app.invalidationFlowId ?? undefined,
          logoutMethod: app.saml?.logoutMethod,
          signLogoutRequests: app.saml?.signLogoutRequests,
          requireSignedRequests: app.saml?.requireSignedRequests,
          encryptAssertions: app.saml?.encryptAssertions,
          slsBinding: app.saml?.singleLogout?.binding ?? undefined,
          nameIdSource: app.saml?.nameIdSource,
          attributeProfile: app.saml?.attributeProfile,
          attributeMappings: JSON.stringify(app.saml?.attributeMappings ?? [], null, 1),
          logoutReturnUrls: (app.saml?.logoutReturnUrls ?? []).join('\n'),
        });
  const warnings = (app.saml?.warnings ?? []) as string[];
  const confidential = app.protocol === 'oidc' && app.oidc?.token_endpoint_auth_method !== 'none';
  return (
    <ConsoleLayout admin={admin} section="applications" title={app.name}>
      {model.notice && <Notice>{model.notice}</Notice>}
      <dl class="facts">
        <dt>Protocol</dt>
        <dd>{app.protocol.toUpperCase()}</dd>
        <dt>{app.protocol === 'oidc' ? 'Client id' : 'Entity id'}</dt>
        <dd>
          <code class="copy">{identifierOf(app)}</code>
        </dd>
        <dt>Logout</dt>
        <dd>{logoutOf(app)}</dd>
        <dt>Live sessions</dt>
        <dd>
          <a href={`/admin/sessions?application=${app.id}`}>{app.liveSessions}</a>
        </dd>
      </dl>
      {warnings.length > 0 && (
        <div role="note" class="warning">
          <ul>
            {warnings.map((warning) => (
              <li key={warning}>{warning}</li>
            ))}
          </ul>
        </div>
      )}
      <div class="actions">
        <a href={`/admin/logouts?application=${app.id}`}>Logouts that reached it</a>
        {confidential && (
          <Form action={`/admin/applications/${app.id}/rotate-secret`} csrf={admin.csrf}>
            <button type="submit" class="secondary">
              Rotate client secret
            </button>
          </Form>
        )}
        <a href={`/admin/applications/${app.id}/delete`}>Delete…</a>
      </div>
      <Section id="settings" title="Settings">
        <Problems problem={model.problem} />
        <Form action={`/admin/applications/${app.id}`} csrf={admin.csrf}>
          <Field label="Name" name="name" value={fields.name} error={model.problem?.fields.name} required />
          {app.protocol === 'oidc' ? (
            <OidcFieldset fields={fields} problem={model.problem} />
          ) : (
            <SamlSettings fields={fields} problem={model.problem} />
          )}
          <FlowSelect flows={model.flows} value={fields.invalidationFlowId} />
          <ConfirmEndsNoSession problem={model.problem} />
          <button type="submit">Save settings</button>
        </Form>
      </Section>
    </ConsoleLayout>
  );
}

export function DeleteApplicationPage({
  admin,
  app,
  changed,
}: {
  admin: ConsoleAdmin;
  app: ProviderView;
  /** More users signed in since the page asked: it asks again with the new count. */
  changed?: boolean;
}) {
  return (
    <ConsoleLayout admin={admin} section="applications" title={`Delete ${app.name}?`}>
      {changed && (
        <div role="alert" class="warning">
          More users signed in to {app.name} since you were asked. Nothing was deleted; here is how things stand now.
        </div>
      )}
      {app.liveSessions > 0 ? (
        <p>
          {app.liveSessions === 1 ? 'One user is' : `${app.liveSessions} users are`} signed in to {app.name} right now.
          Deleting it signs {app.liveSessions === 1 ? 'that session' : 'those sessions'} out of {app.name} through the
          logout engine (its {logoutOf(app)}) first; the users stay signed in at Signoff and in other applications.
        </p>
      ) : (
        <p>Nobody is signed in to {app.name}. It can no longer sign anyone in once deleted.</p>
      )}
      <div class="actions">
        <Form action={`/admin/applications/${app.id}/delete`} csrf={admin.csrf}>
          <input type="hidden" name="liveSessions" value={String(app.liveSessions)} />
          <button type="submit" class="danger">
            Delete {app.name}
            {app.liveSessions > 0 ? ' and sign its sessions out' : ''}
          </button>
        </Form>
        <a href={`/admin/applications/${app.id}`}>Cancel</a>
      </div>
    </ConsoleLayout>
  );
}

export const applicationsPage = (admin: ConsoleAdmin, applications: ProviderView[], notice?: string): string =>
  render(<ApplicationsPage admin={admin} applications={applications} notice={notice} />);
export const newOidcPage = (admin: ConsoleAdmin, fields: OidcFields, flows: FlowView[], problem?: FormProblem) =>
  render(<NewOidcPage admin={admin} fields={fields} flows={flows} problem={problem} />);
export const newSamlPage = (admin: ConsoleAdmin, fields: SamlFields, flows: FlowView[], problem?: FormProblem) =>
  render(<NewSamlPage admin={admin} fields={fields} flows={flows} problem={problem} />);
export const secretPage = (admin: ConsoleAdmin, app: ProviderView, secret: string, title: string) =>
  render(<SecretPage admin={admin} app={app} secret={secret} title={title} />);
export const applicationPage = (admin: ConsoleAdmin, model: ApplicationModel) =>
  render(<ApplicationPage admin={admin} model={model} />);
export const deleteApplicationPage = (admin: ConsoleAdmin, app: ProviderView, changed?: boolean) =>
  render(<DeleteApplicationPage admin={admin} app={app} changed={changed} />);
