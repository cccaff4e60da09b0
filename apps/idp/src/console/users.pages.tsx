import type { Group, User } from '@signoff/core';
import type { LiveSessionListing } from '@signoff/sessions';
import { Form, render } from '../http/layout';
import {
  Badge,
  Check,
  ConsoleLayout,
  Field,
  FilterText,
  type FormProblem,
  Notice,
  Pager,
  Problems,
  Time,
} from './console-layout';
import type { ConsoleAdmin } from './console.guard';
import { SessionsTable } from './sessions.pages';

export interface UsersModel {
  items: User[];
  total: number;
  limit: number;
  offset: number;
  q?: string;
}

export function UsersPage({ admin, model }: { admin: ConsoleAdmin; model: UsersModel }) {
  return (
    <ConsoleLayout admin={admin} section="users" title="Users">
      <div class="actions">
        <form method="get" action="/admin/users" class="filters" role="search" aria-label="Search users">
          <FilterText label="Search" name="q" value={model.q} placeholder="username, email or name" />
          <button type="submit">Search</button>
        </form>
        <a href="/admin/users/new">New user</a>
      </div>
      {model.items.length ? (
        <table>
          <thead>
            <tr>
              <th scope="col">Username</th>
              <th scope="col">Name</th>
              <th scope="col">Email</th>
              <th scope="col">Status</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {model.items.map((user) => (
              <tr key={user.id}>
                <td data-label="Username">
                  <a href={`/admin/users/${user.id}`}>{user.username}</a>
                  {user.isAdmin && <span class="muted"> (admin)</span>}
                </td>
                <td data-label="Name">{user.name ?? '—'}</td>
                <td data-label="Email">{user.email ?? '—'}</td>
                <td data-label="Status">
                  <Badge status={user.isActive ? 'active' : 'deactivated'} />
                </td>
                <td data-label="Created">
                  <Time value={user.createdAt} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p class="muted">No users match.</p>
      )}
      <Pager path="/admin/users" query={{ q: model.q }} total={model.total} limit={model.limit} offset={model.offset} />
    </ConsoleLayout>
  );
}

/** The fields of a user form, as typed (kept when the form comes back with a problem). */
export type UserFields = Partial<Record<'username' | 'email' | 'name' | 'givenName' | 'familyName', string | null>> & {
  isAdmin?: boolean;
  emailVerified?: boolean;
};

function ProfileFields({ fields, problem }: { fields: UserFields; problem?: FormProblem }) {
  return (
    <>
      <Field
        label="Email"
        name="email"
        type="email"
        value={fields.email}
        error={problem?.fields.email}
        autocomplete="off"
      />
      <Check label="The email address is verified" name="emailVerified" checked={fields.emailVerified} />
      <Field label="Full name" name="name" value={fields.name} error={problem?.fields.name} />
      <Field label="Given name" name="givenName" value={fields.givenName} error={problem?.fields.givenName} />
      <Field label="Family name" name="familyName" value={fields.familyName} error={problem?.fields.familyName} />
      <Check label="Administrator (may use this console and the admin API)" name="isAdmin" checked={fields.isAdmin} />
    </>
  );
}

export function NewUserPage({
  admin,
  fields,
  problem,
}: {
  admin: ConsoleAdmin;
  fields: UserFields;
  problem?: FormProblem;
}) {
  return (
    <ConsoleLayout admin={admin} section="users" title="New user">
      <Problems problem={problem} />
      <Form action="/admin/users/new" csrf={admin.csrf}>
        <Field
          label="Username"
          name="username"
          value={fields.username}
          error={problem?.fields.username}
          required
          autocomplete="off"
        />
        <Field
          label="Password"
          name="password"
          type="password"
          error={problem?.fields.password}
          hint="Leave blank for a user who cannot sign in with a password yet."
          autocomplete="new-password"
        />
        <ProfileFields fields={fields} problem={problem} />
        <button type="submit">Create user</button>
      </Form>
    </ConsoleLayout>
  );
}

export interface UserModel {
  user: User;
  groups: Group[];
  allGroups: Group[];
  sessions: LiveSessionListing[];
  /** The form as typed, when it came back with a problem; else the user's own values. */
  fields?: UserFields;
  problem?: FormProblem;
  /** Which form the problem belongs to. */
  problemIn?: 'profile' | 'password' | 'groups';
  notice?: string;
}

export function UserPage({ admin, model }: { admin: ConsoleAdmin; model: UserModel }) {
  const { user } = model;
  const fields: UserFields = model.fields ?? {
    email: user.email,
    emailVerified: user.emailVerified,
    name: user.name,
    givenName: user.givenName,
    familyName: user.familyName,
    isAdmin: user.isAdmin,
  };
  const memberOf = new Set(model.groups.map((group) => group.id));
  const self = user.id === admin.user.id;
  return (
    <ConsoleLayout admin={admin} section="users" title={user.username}>
      {model.notice && <Notice>{model.notice}</Notice>}
      <p>
        <Badge status={user.isActive ? 'active' : 'deactivated'} /> Created <Time value={user.createdAt} />
        {user.deactivatedAt && (
          <>
            , deactivated <Time value={user.deactivatedAt} />
          </>
        )}
        .
      </p>
      <div class="actions">
        {user.isActive ? (
          !self && (
            <Form action={`/admin/users/${user.id}/deactivate`} csrf={admin.csrf}>
              <button type="submit" class="danger">
                Deactivate and sign out everywhere
              </button>
            </Form>
          )
        ) : (
          <Form action={`/admin/users/${user.id}/activate`} csrf={admin.csrf}>
            <button type="submit">Activate</button>
          </Form>
        )}
        <a href={`/admin/logouts?user=${encodeURIComponent(user.username)}`}>Logouts of {user.username}</a>
        <a href={`/admin/audit?target=${user.id}`}>Audit events</a>
      </div>

      <h2 id="profile">Profile</h2>
      {model.problemIn === 'profile' && <Problems problem={model.problem} />}
      <Form action={`/admin/users/${user.id}`} csrf={admin.csrf}>
        <ProfileFields fields={fields} problem={model.problemIn === 'profile' ? model.problem : undefined} />
        <button type="submit">Save profile</button>
      </Form>

      <h2 id="groups">Groups</h2>
      {model.problemIn === 'groups' && <Problems problem={model.problem} />}
      {model.allGroups.length ? (
        <Form action={`/admin/users/${user.id}/groups`} csrf={admin.csrf}>
          <fieldset>
            <legend>Member of</legend>
            {model.allGroups.map((group) => (
              <div class="check" key={group.id}>
                <input
                  id={`group-${group.id}`}
                  type="checkbox"
                  name="group"
                  value={group.id}
                  checked={memberOf.has(group.id)}
                />
                <label for={`group-${group.id}`}>{group.name}</label>
              </div>
            ))}
          </fieldset>
          <button type="submit">Save groups</button>
        </Form>
      ) : (
        <p class="muted">There are no groups yet.</p>
      )}
      <Form action={`/admin/users/${user.id}/groups/new`} csrf={admin.csrf}>
        <Field
          label="New group, with this user in it"
          name="groupName"
          hint="Lower-case letters, digits, dots, dashes and underscores; applications see it in the groups claim and isMemberOf."
          error={model.problemIn === 'groups' ? model.problem?.fields.name : undefined}
        />
        <button type="submit" class="secondary">
          Create group
        </button>
      </Form>

      <h2 id="password">Reset password</h2>
      <p class="muted">A new password ends all of {user.username}'s sessions and revokes their tokens.</p>
      {model.problemIn === 'password' && <Problems problem={model.problem} />}
      <Form action={`/admin/users/${user.id}/password`} csrf={admin.csrf}>
        <Field
          label="New password"
          name="password"
          type="password"
          required
          autocomplete="new-password"
          error={model.problemIn === 'password' ? model.problem?.fields.password : undefined}
        />
        <button type="submit">Set password</button>
      </Form>

      <h2 id="sessions">Live sessions</h2>
      {model.sessions.length > 0 && (
        <Form action={`/admin/users/${user.id}/end-sessions`} csrf={admin.csrf}>
          <button type="submit" class="danger">
            End {model.sessions.length === 1 ? 'this session' : `all ${model.sessions.length} sessions`}
          </button>
        </Form>
      )}
      <SessionsTable sessions={model.sessions} csrf={admin.csrf} showUser={false} />
    </ConsoleLayout>
  );
}

export const usersPage = (admin: ConsoleAdmin, model: UsersModel): string =>
  render(<UsersPage admin={admin} model={model} />);
export const newUserPage = (admin: ConsoleAdmin, fields: UserFields, problem?: FormProblem): string =>
  render(<NewUserPage admin={admin} fields={fields} problem={problem} />);
export const userPage = (admin: ConsoleAdmin, model: UserModel): string =>
  render(<UserPage admin={admin} model={model} />);
