import type { Stage, StageKind } from '@signoff/core';
import type { BoundProvider, FlowView } from '@signoff/flows';
import type { ProviderView } from '@signoff/providers';
import { Form, RadioGroup, render } from '../http/layout';
import { Badge, Check, ConsoleLayout, Field, type FormProblem, Notice, Problems } from './console-layout';
import type { ConsoleAdmin } from './console.guard';

/** What each stage kind does when its flow runs (libs/logout/src/flow-executor.ts), in words. */
export const STAGE_KINDS: Record<StageKind, string> = {
  user_logout: 'Full logout: ends the Signoff session and tells every application in it',
  provider_logout: 'Application only: ends the session of the application that asked, nothing else',
  confirm: 'Ask the user to confirm (a page with a text)',
  message: 'Show the user a message',
  redirect: 'Send the user to a URL',
};

const summary = (flow: FlowView) => flow.stages.map((bound) => bound.stage.name).join(' → ') || 'no stages';

function Warnings({ flow }: { flow: FlowView }) {
  if (!flow.warnings.length) return null;
  return (
    <div role="note" class="warning">
      <ul>
        {flow.warnings.map((warning) => (
          <li key={warning}>{warning}</li>
        ))}
      </ul>
    </div>
  );
}

/** The config fields of a stage of `kind`: a text for confirm and message, a URL for redirect. */
function StageConfigFields({
  kind,
  config,
  problem,
}: {
  kind: StageKind | undefined;
  config: Record<string, unknown>;
  problem?: FormProblem;
}) {
  if (kind === 'redirect')
    return (
      <Field label="URL" name="url" type="url" value={String(config.url ?? '')} error={problem?.fields['config.url']} />
    );
  if (kind === 'confirm' || kind === 'message')
    return (
      <Field
        label="Text shown to the user"
        name="text"
        value={typeof config.text === 'string' ? config.text : ''}
        hint="Leave blank for the default wording."
      />
    );
  return null;
}

export interface FlowsModel {
  flows: FlowView[];
  stages: Stage[];
  /** How many applications run each flow. */
  boundCounts: ReadonlyMap<string, number>;
  problem?: FormProblem;
  problemIn?: 'flow' | 'stage';
  fields?: Record<string, string | undefined>;
  notice?: string;
}

export function FlowsPage({ admin, model }: { admin: ConsoleAdmin; model: FlowsModel }) {
  const fields = model.fields ?? {};
  return (
    <ConsoleLayout admin={admin} section="flows" title="Flows">
      {model.notice && <Notice>{model.notice}</Notice>}
      <p class="muted">
        An invalidation flow is what runs when a session ends: its stages, in order. Users signing out at Signoff run
        default-invalidation-flow; an application starting a logout runs its own flow, or
        default-provider-invalidation-flow.
      </p>
      <table>
        <thead>
          <tr>
            <th scope="col">Flow</th>
            <th scope="col">Stages</th>
            <th scope="col" class="num">
              Applications
            </th>
            <th scope="col">Warnings</th>
          </tr>
        </thead>
        <tbody>
          {model.flows.map((flow) => (
            <tr key={flow.id}>
              <td data-label="Flow">
                <a href={`/admin/flows/${flow.id}`}>{flow.name}</a> <span class="muted">{flow.slug}</span>
              </td>
              <td data-label="Stages">{summary(flow)}</td>
              <td data-label="Applications" class="num">
                {flow.isDefault ? 'default' : (model.boundCounts.get(flow.id) ?? 0)}
              </td>
              <td data-label="Warnings">{flow.endsNoSession ? <Badge status="ends_no_session" /> : '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>

      <h2 id="new-flow">New flow</h2>
      {model.problemIn === 'flow' && <Problems problem={model.problem} />}
      <Form action="/admin/flows" csrf={admin.csrf}>
        <Field
          label="Name"
          name="name"
          id="flow-name"
          value={fields.name}
          required
          error={model.problemIn === 'flow' ? model.problem?.fields.name : undefined}
        />
        <Field
          label="Slug"
          name="slug"
          id="flow-slug"
          value={fields.slug}
          required
          hint="Lower-case letters, digits and dashes."
          error={model.problemIn === 'flow' ? model.problem?.fields.slug : undefined}
        />
        <button type="submit">Create flow</button>
      </Form>

      <h2 id="stages">Stages</h2>
      <p class="muted">Stages are shared: one stage can be bound to several flows.</p>
      {model.stages.length ? (
        <table>
          <thead>
            <tr>
              <th scope="col">Stage</th>
              <th scope="col">Kind</th>
            </tr>
          </thead>
          <tbody>
            {model.stages.map((stage) => (
              <tr key={stage.id}>
                <td data-label="Stage">
                  <a href={`/admin/flows/stages/${stage.id}`}>{stage.name}</a>
                </td>
                <td data-label="Kind">{STAGE_KINDS[stage.kind]}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p class="muted">No stages yet.</p>
      )}

      <h2 id="new-stage">New stage</h2>
      {model.problemIn === 'stage' && <Problems problem={model.problem} />}
      <Form action="/admin/flows/stages" csrf={admin.csrf}>
        <Field label="Name" name="name" id="stage-name" value={fields.stageName} required />
        <RadioGroup
          legend="Kind"
          name="kind"
          prefix="kind"
          options={Object.entries(STAGE_KINDS).map(([value, label]) => ({ value, label }))}
          checked={fields.kind}
          required
        />
        <Field label="Text shown to the user (confirm, message)" name="text" id="stage-text" value={fields.text} />
        <Field label="URL (redirect)" name="url" id="stage-url" type="url" value={fields.url} />
        <button type="submit">Create stage</button>
      </Form>
    </ConsoleLayout>
  );
}

export interface FlowModel {
  flow: FlowView;
  stages: Stage[];
  bound: BoundProvider[];
  applications: ProviderView[];
  problem?: FormProblem;
  problemIn?: 'rename' | 'add' | 'bind';
  /** The application whose binding needs the "ends no session" confirmation. */
  confirmBind?: string;
  /** The binding (the flow's logout stage) whose removal needs that confirmation. */
  confirmUnbind?: string;
  notice?: string;
}

export function FlowPage({ admin, model }: { admin: ConsoleAdmin; model: FlowModel }) {
  const { flow } = model;
  const base = `/admin/flows/${flow.id}` as const;
  const unbound = model.stages.filter((stage) => !flow.stages.some((bound) => bound.stage.id === stage.id));
  const others = model.applications.filter((app) => !model.bound.some((bound) => bound.id === app.id));
  return (
    <ConsoleLayout admin={admin} section="flows" title={flow.name}>
      {model.notice && <Notice>{model.notice}</Notice>}
      <p class="muted">
        {flow.slug}
        {flow.isDefault && ' · built in: it runs by default and cannot be deleted'}
      </p>
      <Warnings flow={flow} />

      <h2 id="stages">Stages, in order</h2>
      {flow.stages.length ? (
        <ol class="stages">
          {flow.stages.map((bound, index) => (
            <li key={bound.bindingId}>
              <a href={`/admin/flows/stages/${bound.stage.id}`}>{bound.stage.name}</a>{' '}
              <span class="muted">{STAGE_KINDS[bound.stage.kind]}</span>
              <div class="actions">
                {index > 0 && (
                  <Form action={`${base}/move`} csrf={admin.csrf}>
                    <input type="hidden" name="binding" value={bound.bindingId} />
                    <input type="hidden" name="direction" value="up" />
                    <button type="submit" class="secondary" aria-label={`Move ${bound.stage.name} up`}>
                      Up
                    </button>
                  </Form>
                )}
                {index < flow.stages.length - 1 && (
                  <Form action={`${base}/move`} csrf={admin.csrf}>
                    <input type="hidden" name="binding" value={bound.bindingId} />
                    <input type="hidden" name="direction" value="down" />
                    <button type="submit" class="secondary" aria-label={`Move ${bound.stage.name} down`}>
                      Down
                    </button>
                  </Form>
                )}
                <Form action={`${base}/unbind`} csrf={admin.csrf}>
                  <input type="hidden" name="binding" value={bound.bindingId} />
                  <button type="submit" class="secondary" aria-label={`Remove ${bound.stage.name} from the flow`}>
                    Remove
                  </button>
                </Form>
              </div>
            </li>
          ))}
        </ol>
      ) : (
        <p class="muted">No stages: this flow does nothing yet.</p>
      )}
      {model.problemIn === 'add' && <Problems problem={model.problem} />}
      {model.confirmUnbind && !flow.isDefault && (
        <Form action={`${base}/unbind`} csrf={admin.csrf}>
          <input type="hidden" name="binding" value={model.confirmUnbind} />
          <Check
            label="I understand: without its logout stage, this flow signs nobody out for the applications that run it."
            name="confirmEndsNoSession"
          />
          <button type="submit" class="danger">
            Take the logout stage out
          </button>
        </Form>
      )}
      {unbound.length > 0 && (
        <Form action={`${base}/bind`} csrf={admin.csrf}>
          <div class="field">
            <label for="field-stage">Add a stage at the end</label>
            <select id="field-stage" name="stage">
              {unbound.map((stage) => (
                <option key={stage.id} value={stage.id}>
                  {stage.name} ({stage.kind})
                </option>
              ))}
            </select>
          </div>
          <button type="submit">Add stage</button>
        </Form>
      )}
      <p>
        <a href="/admin/flows#new-stage">New stage…</a>
      </p>

      <h2 id="applications">Applications that run it</h2>
      {flow.isDefault ? (
        <p class="muted">Every application without a flow of its own.</p>
      ) : model.bound.length ? (
        <ul>
          {model.bound.map((app) => (
            <li key={app.id}>
              <a href={`/admin/applications/${app.id}`}>{app.name}</a>
            </li>
          ))}
        </ul>
      ) : (
        <p class="muted">None yet.</p>
      )}
      {!flow.isDefault && others.length > 0 && (
        <>
          {model.problemIn === 'bind' && <Problems problem={model.problem} />}
          <Form action={`${base}/applications`} csrf={admin.csrf}>
            <div class="field">
              <label for="field-application">Use this flow for</label>
              <select id="field-application" name="application">
                {others.map((app) => (
                  <option key={app.id} value={app.id} selected={app.id === model.confirmBind}>
                    {app.name} ({app.protocol.toUpperCase()})
                  </option>
                ))}
              </select>
            </div>
            {(model.confirmBind || flow.endsNoSession) && (
              <Check
                label="I understand: with this flow, a logout started by that application signs nobody out."
                name="confirmEndsNoSession"
              />
            )}
            <button type="submit">Bind</button>
          </Form>
        </>
      )}

      <h2 id="rename">Name</h2>
      {model.problemIn === 'rename' && <Problems problem={model.problem} />}
      <Form action={`${base}/rename`} csrf={admin.csrf}>
        <Field label="Name" name="name" value={flow.name} required />
        {!flow.isDefault && <Field label="Slug" name="slug" value={flow.slug} required />}
        <button type="submit">Rename</button>
      </Form>
      {!flow.isDefault && (
        <p>
          <a href={`${base}/delete`}>Delete this flow…</a>
        </p>
      )}
    </ConsoleLayout>
  );
}

export function DeleteFlowPage({
  admin,
  flow,
  bound,
}: {
  admin: ConsoleAdmin;
  flow: FlowView;
  bound: BoundProvider[];
}) {
  return (
    <ConsoleLayout admin={admin} section="flows" title={`Delete ${flow.name}?`}>
      {bound.length ? (
        <>
          <p>These applications run it; once it is deleted they fall back to default-provider-invalidation-flow:</p>
          <ul>
            {bound.map((app) => (
              <li key={app.id}>{app.name}</li>
            ))}
          </ul>
        </>
      ) : (
        <p>No application runs it.</p>
      )}
      <div class="actions">
        <Form action={`/admin/flows/${flow.id}/delete`} csrf={admin.csrf}>
          <button type="submit" class="danger">
            Delete {flow.name}
          </button>
        </Form>
        <a href={`/admin/flows/${flow.id}`}>Cancel</a>
      </div>
    </ConsoleLayout>
  );
}

export interface StageModel {
  stage: Stage;
  fields?: Record<string, string | undefined>;
  problem?: FormProblem;
  notice?: string;
}

export function StagePage({ admin, model }: { admin: ConsoleAdmin; model: StageModel }) {
  const { stage } = model;
  const config = model.fields ?? (stage.config as Record<string, unknown>);
  return (
    <ConsoleLayout admin={admin} section="flows" title={stage.name}>
      {model.notice && <Notice>{model.notice}</Notice>}
      <p class="muted">{STAGE_KINDS[stage.kind]}</p>
      <Problems problem={model.problem} />
      <Form action={`/admin/flows/stages/${stage.id}`} csrf={admin.csrf}>
        <Field label="Name" name="name" value={model.fields?.name ?? stage.name} required />
        <StageConfigFields kind={stage.kind} config={config} problem={model.problem} />
        <button type="submit">Save stage</button>
      </Form>
      <Form action={`/admin/flows/stages/${stage.id}/delete`} csrf={admin.csrf}>
        <button type="submit" class="danger">
          Delete stage
        </button>
      </Form>
    </ConsoleLayout>
  );
}

export const flowsPage = (admin: ConsoleAdmin, model: FlowsModel) => render(<FlowsPage admin={admin} model={model} />);
export const flowPage = (admin: ConsoleAdmin, model: FlowModel) => render(<FlowPage admin={admin} model={model} />);
export const deleteFlowPage = (admin: ConsoleAdmin, flow: FlowView, bound: BoundProvider[]) =>
  render(<DeleteFlowPage admin={admin} flow={flow} bound={bound} />);
export const stagePage = (admin: ConsoleAdmin, model: StageModel) => render(<StagePage admin={admin} model={model} />);
