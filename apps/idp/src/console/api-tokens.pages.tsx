import type { ApiToken, ApiTokenScope } from '@signoff/core';
import { type ApiTokenStatus, apiTokenStatus } from '../admin/api-tokens.service';
import { Form, RadioGroup, render } from '../http/layout';
import { Badge, ConsoleLayout, Field, type FormProblem, Notice, Pager, Problems, Time } from './console-layout';
import type { ConsoleAdmin } from './console.guard';

/** The console's bounds on a new token's lifetime, in days: long-lived tokens are for the CLI, on purpose. */
export const TOKEN_DAYS = { min: 1, max: 365, default: 90 } as const;

/** What a token may do, as the console offers it: one scope per token, [scope, label, guidance]. */
export const TOKEN_SCOPES: ReadonlyArray<readonly [ApiTokenScope, string, string]> = [
  ['admin', 'The admin API', 'Everything you can do in /api/v1, as you.'],
  [
    'global_token_revocation',
    'Global token revocation only',
    'For a security tool: POST /oauth2/global-token-revocation ends every session and token of a user it names, and nothing else.',
  ],
];
const scopeLabel = (scope: ApiTokenScope) => TOKEN_SCOPES.find(([key]) => key === scope)?.[1] ?? scope;

export interface ApiTokensModel {
  items: ApiToken[];
  total: number;
  limit: number;
  offset: number;
  now: Date;
  notice?: string;
}

export function ApiTokensPage({ admin, model }: { admin: ConsoleAdmin; model: ApiTokensModel }) {
  return (
    <ConsoleLayout admin={admin} section="tokens" title="API tokens">
      {model.notice && <Notice>{model.notice}</Notice>}
      <p class="muted">
        Bearer tokens for the admin API (<code>/api/v1</code>), or for global token revocation alone. An admin API token
        acts with all the rights of the administrator who made it, so every administrator sees and may revoke every
        token.
      </p>
      <div class="actions">
        <a href="/admin/api-tokens/new">New token</a>
      </div>
      {model.items.length ? (
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Owner</th>
              <th scope="col">May use</th>
              <th scope="col">Status</th>
              <th scope="col">Created</th>
              <th scope="col">Last used</th>
              <th scope="col">Expires</th>
              <th scope="col">
                <span class="muted">Action</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {model.items.map((token) => {
              const status: ApiTokenStatus = apiTokenStatus(token, model.now);
              return (
                <tr key={token.id} data-token={token.id}>
                  <td data-label="Name">{token.name}</td>
                  <td data-label="Owner">
                    {token.user ? <a href={`/admin/users/${token.userId}`}>{token.user.username}</a> : token.userId}
                  </td>
                  <td data-label="May use">{token.scopes.map(scopeLabel).join(', ')}</td>
                  <td data-label="Status">
                    <Badge status={status} />
                    {token.revokedAt && (
                      <p class="muted">
                        <Time value={token.revokedAt} />
                      </p>
                    )}
                  </td>
                  <td data-label="Created">
                    <Time value={token.createdAt} />
                  </td>
                  <td data-label="Last used">
                    {token.lastUsedAt ? <Time value={token.lastUsedAt} /> : <span class="muted">never</span>}
                  </td>
                  <td data-label="Expires">
                    {token.expiresAt ? <Time value={token.expiresAt} /> : <span class="muted">never</span>}
                  </td>
                  <td>
                    {status === 'active' && (
                      <Form action={`/admin/api-tokens/${token.id}/revoke`} csrf={admin.csrf}>
                        <button
                          type="submit"
                          class="danger"
                          aria-label={`Revoke the token ${token.name} of ${token.user?.username ?? 'its owner'}`}
                        >
                          Revoke
                        </button>
                      </Form>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : (
        <p class="muted">There are no API tokens yet.</p>
      )}
      <Pager path="/admin/api-tokens" query={{}} total={model.total} limit={model.limit} offset={model.offset} />
    </ConsoleLayout>
  );
}

/** The create form as typed, when it came back with a problem. */
export interface ApiTokenFields {
  name?: string;
  days?: string;
  scope?: string;
}

export function NewApiTokenPage({
  admin,
  fields,
  problem,
}: {
  admin: ConsoleAdmin;
  fields: ApiTokenFields;
  problem?: FormProblem;
}) {
  return (
    <ConsoleLayout admin={admin} section="tokens" title="New API token">
      <p class="muted">
        The token will be yours ({admin.user.username}): an admin API token can do whatever you can do in the admin API,
        until it expires or is revoked. It is shown once, on the next page.
      </p>
      <Problems problem={problem} />
      <Form action="/admin/api-tokens/new" csrf={admin.csrf}>
        <Field
          label="Name"
          name="name"
          value={fields.name}
          error={problem?.fields.name}
          hint="What it is for, such as “deploy pipeline”."
          required
          autocomplete="off"
        />
        <Field
          label="Expires in (days)"
          name="days"
          type="number"
          value={fields.days ?? String(TOKEN_DAYS.default)}
          error={problem?.fields.days}
          hint={`From ${TOKEN_DAYS.min} to ${TOKEN_DAYS.max} days.`}
          required
        />
        <RadioGroup
          legend="What it may do"
          name="scope"
          prefix="scope"
          options={TOKEN_SCOPES.map(([value, label, hint]) => ({ value, label, hint }))}
          checked={fields.scope ?? 'admin'}
        />
        <button type="submit">Create token</button>
      </Form>
    </ConsoleLayout>
  );
}

export interface ApiTokenCreatedModel {
  token: string;
  record: ApiToken;
  /** Where the admin API is, for the example call. */
  apiBase: string;
  /** Where global token revocation is, for the example call. */
  revocationEndpoint: string;
}

/** The one page that shows a token: served with Cache-Control: no-store, never reached by a URL. */
export function ApiTokenCreatedPage({ admin, model }: { admin: ConsoleAdmin; model: ApiTokenCreatedModel }) {
  const { record } = model;
  return (
    <ConsoleLayout admin={admin} section="tokens" title="API token created">
      <Notice>
        Copy the token now: this is the only time Signoff shows it. Signoff keeps only its hash, so a lost token cannot
        be shown again: revoke it and make another.
      </Notice>
      <dl class="facts">
        <dt>Name</dt>
        <dd>{record.name}</dd>
        <dt>Owner</dt>
        <dd>{admin.user.username}</dd>
        <dt>May use</dt>
        <dd>{record.scopes.map(scopeLabel).join(', ')}</dd>
        <dt>Expires</dt>
        <dd>{record.expiresAt ? <Time value={record.expiresAt} /> : 'never'}</dd>
        <dt>Token</dt>
        <dd>
          <code class="copy secret" id="api-token">
            {model.token}
          </code>
        </dd>
      </dl>
      <h2>Using it</h2>
      {record.scopes.includes('admin') ? (
        <>
          <p>Send it in the Authorization header of every admin API call:</p>
          <pre class="example">
            <code>
              curl -H "Authorization: Bearer {model.token}" {model.apiBase}/me
            </code>
          </pre>
        </>
      ) : (
        <>
          <p>Send it with each revocation, naming the user by email (or by their subject at Signoff):</p>
          <pre class="example">
            <code>
              curl -H "Authorization: Bearer {model.token}" -H "Content-Type: application/json" -d{' '}
              {`'{"sub_id": {"format": "email", "email": "user@example.com"}}'`} {model.revocationEndpoint}
            </code>
          </pre>
        </>
      )}
      <p>
        <a href="/admin/api-tokens">Back to the API tokens</a>
      </p>
    </ConsoleLayout>
  );
}

export const apiTokensPage = (admin: ConsoleAdmin, model: ApiTokensModel): string =>
  render(<ApiTokensPage admin={admin} model={model} />);
export const newApiTokenPage = (admin: ConsoleAdmin, fields: ApiTokenFields, problem?: FormProblem): string =>
  render(<NewApiTokenPage admin={admin} fields={fields} problem={problem} />);
export const apiTokenCreatedPage = (admin: ConsoleAdmin, model: ApiTokenCreatedModel): string =>
  render(<ApiTokenCreatedPage admin={admin} model={model} />);
