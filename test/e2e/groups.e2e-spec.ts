import { AuditEvent, GroupsService, SYSTEM, UsersService } from '@signoff/core';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { ApiTokensService } from '../../apps/idp/src/admin/api-tokens.service';
import { runCli } from '../../apps/idp/src/cli';
import { Browser } from '../support/browser';
import { startApp, type TestApp } from '../support/test-app';

// Issue 10, "who the user is": the profile applications read (given and family name, email and
// whether it is verified) and groups, over the admin API and the CLI.
let t: TestApp;
let token: string;

beforeAll(async () => {
  t = await startApp();
  const root = await t.app
    .get(UsersService)
    .create({ username: 'root', password: 'root password', isAdmin: true }, SYSTEM);
  token = (await t.app.get(ApiTokensService).create(root, 'test', null, SYSTEM)).token;
});
afterAll(() => t.close());

const api = () => request(t.url);
const auth = () => ({ Authorization: `Bearer ${token}` });
const createUser = async (body: object) => {
  const response = await api().post('/api/v1/users').set(auth()).send(body);
  expect(response.status).toBe(201);
  return response.body as { id: string; username: string };
};
const createGroup = async (name: string, description?: string) => {
  const response = await api().post('/api/v1/groups').set(auth()).send({ name, description });
  expect(response.status).toBe(201);
  return response.body as { id: string; name: string };
};

describe('the user profile over the admin API', () => {
  it('creates, shows and lists a user with given name, family name and a verified email', async () => {
    const created = await createUser({
      username: 'ada',
      email: 'ada@example.org',
      emailVerified: true,
      name: 'Ada Lovelace',
      givenName: 'Ada',
      familyName: 'Lovelace',
    });
    const profile = {
      username: 'ada',
      email: 'ada@example.org',
      emailVerified: true,
      name: 'Ada Lovelace',
      givenName: 'Ada',
      familyName: 'Lovelace',
    };
    expect(created).toMatchObject(profile);
    expect((await api().get(`/api/v1/users/${created.id}`).set(auth())).body).toMatchObject({ ...profile, groups: [] });
    const listed = (await api().get('/api/v1/users').set(auth())).body.items;
    expect(listed.find((user: { id: string }) => user.id === created.id)).toMatchObject(profile);
  });

  it('defaults the new fields: no names, email not verified', async () => {
    const created = await createUser({ username: 'plain', email: 'plain@example.org' });
    expect(created).toMatchObject({ givenName: null, familyName: null, emailVerified: false });
  });

  it('changes the fields, and clears the names with null', async () => {
    const user = await createUser({ username: 'grace', givenName: 'Grace', familyName: 'Hopper' });
    const changed = await api()
      .patch(`/api/v1/users/${user.id}`)
      .set(auth())
      .send({ givenName: 'Grace B.', familyName: null, email: 'grace@example.org', emailVerified: true });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({
      givenName: 'Grace B.',
      familyName: null,
      email: 'grace@example.org',
      emailVerified: true,
    });
    expect((await api().get(`/api/v1/users/${user.id}`).set(auth())).body).toMatchObject({
      givenName: 'Grace B.',
      familyName: null,
      emailVerified: true,
    });
  });

  it('makes a changed email unverified, unless the same request verifies it', async () => {
    const user = await createUser({ username: 'linus', email: 'linus@example.org', emailVerified: true });
    const patch = (body: object) => api().patch(`/api/v1/users/${user.id}`).set(auth()).send(body);

    // Another field, or the same address again: the verification stands.
    expect((await patch({ givenName: 'Linus' })).body.emailVerified).toBe(true);
    expect((await patch({ email: 'linus@example.org' })).body.emailVerified).toBe(true);
    // A new address was never verified.
    expect((await patch({ email: 'linus@elsewhere.example' })).body).toMatchObject({
      email: 'linus@elsewhere.example',
      emailVerified: false,
    });
    expect((await patch({ emailVerified: true })).body.emailVerified).toBe(true);
    // The administrator who checked the new address says so in the same request.
    expect((await patch({ email: 'linus@third.example', emailVerified: true })).body).toMatchObject({
      email: 'linus@third.example',
      emailVerified: true,
    });
    // No address, nothing verified.
    expect((await patch({ email: null })).body).toMatchObject({ email: null, emailVerified: false });
    // Audited as changed: the reset among them (events of one millisecond have no order: compare as a set).
    const events = await t.app
      .get(DataSource)
      .getRepository(AuditEvent)
      .findBy({ action: 'user.updated', targetId: user.id });
    expect(events.map((event) => (event.details as { changed: string[] }).changed.join('+')).sort()).toEqual(
      [
        'givenName',
        'email',
        'email+emailVerified',
        'emailVerified',
        'email+emailVerified',
        'email+emailVerified',
      ].sort(),
    );
  });

  it('refuses bad profile values with 400 and changes nothing', async () => {
    const user = await createUser({ username: 'checked', givenName: 'Kept' });
    for (const body of [
      { givenName: 'g'.repeat(101) },
      { familyName: 'f'.repeat(101) },
      { name: 'n'.repeat(201) },
      { givenName: 42 },
      { emailVerified: 'yes' },
      { emailVerified: true }, // the user has no address to verify
      { email: null, emailVerified: true },
      { nickname: 'not a field' },
    ]) {
      const response = await api().patch(`/api/v1/users/${user.id}`).set(auth()).send(body);
      expect({ body, status: response.status }).toEqual({ body, status: 400 });
      expect(response.body.details.length).toBeGreaterThan(0);
    }
    const refused = await api()
      .post('/api/v1/users')
      .set(auth())
      .send({ username: 'unverifiable', emailVerified: true });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ code: 'invalid_request' });
    expect(refused.body.details).toEqual(['emailVerified: an address can be verified only when the user has one']);
    expect(await t.app.get(UsersService).findByUsername('unverifiable')).toBeNull();
    expect((await api().get(`/api/v1/users/${user.id}`).set(auth())).body).toMatchObject({
      givenName: 'Kept',
      familyName: null,
      emailVerified: false,
    });
  });
});

describe('groups over the admin API', () => {
  it('creates, lists, gets and deletes a group', async () => {
    const created = await api()
      .post('/api/v1/groups')
      .set(auth())
      .send({ name: 'Wiki-Editors', description: 'may edit the wiki' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'wiki-editors', description: 'may edit the wiki', members: [] });
    const { id } = created.body;

    const listed = await api().get('/api/v1/groups').set(auth());
    expect(listed.status).toBe(200);
    expect(listed.body.items).toContainEqual(expect.objectContaining({ id, name: 'wiki-editors' }));

    for (const ref of [id, 'wiki-editors']) {
      const got = await api().get(`/api/v1/groups/${ref}`).set(auth());
      expect(got.status).toBe(200);
      expect(got.body).toMatchObject({ id, name: 'wiki-editors', members: [] });
    }

    expect((await api().delete(`/api/v1/groups/${id}`).set(auth())).status).toBe(204);
    const gone = await api().get(`/api/v1/groups/${id}`).set(auth());
    expect(gone.status).toBe(404);
    expect(gone.body).toMatchObject({ error: 'not_found', code: 'not_found' });
    expect((await api().delete(`/api/v1/groups/${id}`).set(auth())).status).toBe(404);
    const actions = (await t.app.get(DataSource).getRepository(AuditEvent).findBy({ targetId: id })).map(
      (event) => event.action,
    );
    expect(actions.sort()).toEqual(['group.created', 'group.deleted']);
  });

  it('adds members by id or username, shows them on the group and the user, and removes them', async () => {
    const group = await createGroup('staff');
    const [alice, bob] = [await createUser({ username: 'alice' }), await createUser({ username: 'bob' })];

    const byId = await api().post(`/api/v1/groups/${group.id}/members`).set(auth()).send({ userId: bob.id });
    expect(byId.status).toBe(200);
    expect(byId.body.members).toEqual([{ id: bob.id, username: 'bob' }]);
    const byName = await api().post('/api/v1/groups/staff/members').set(auth()).send({ username: 'ALICE' });
    expect(byName.body.members).toEqual([
      { id: alice.id, username: 'alice' },
      { id: bob.id, username: 'bob' },
    ]);
    // Adding a member again changes nothing.
    expect(
      (await api().post(`/api/v1/groups/${group.id}/members`).set(auth()).send({ userId: bob.id })).body.members,
    ).toHaveLength(2);

    const other = await createGroup('admins');
    await api().post(`/api/v1/groups/${other.id}/members`).set(auth()).send({ userId: alice.id }).expect(200);
    expect((await api().get(`/api/v1/users/${alice.id}`).set(auth())).body.groups).toEqual([
      { id: other.id, name: 'admins' },
      { id: group.id, name: 'staff' },
    ]);
    expect(await t.app.get(GroupsService).namesOf(alice.id)).toEqual(['admins', 'staff']);

    const removed = await api().delete(`/api/v1/groups/${group.id}/members/${alice.id}`).set(auth());
    expect(removed.status).toBe(200);
    expect(removed.body.members).toEqual([{ id: bob.id, username: 'bob' }]);
    expect((await api().get(`/api/v1/users/${alice.id}`).set(auth())).body.groups).toEqual([
      { id: other.id, name: 'admins' },
    ]);
    const again = await api().delete(`/api/v1/groups/${group.id}/members/${alice.id}`).set(auth());
    expect(again.status).toBe(404);
    expect(again.body).toMatchObject({ code: 'not_found' });

    const audited = await t.app.get(DataSource).getRepository(AuditEvent).findBy({ targetId: group.id });
    // One event per change, the repeated add not among them (same-millisecond events have no order).
    expect(
      audited.map((event) => `${event.action} ${(event.details as { userId?: string } | null)?.userId ?? ''}`).sort(),
    ).toEqual(
      [
        'group.created ',
        `group.member_added ${bob.id}`,
        `group.member_added ${alice.id}`,
        `group.member_removed ${alice.id}`,
      ].sort(),
    );
    expect(audited.every((event) => event.actorType === 'admin')).toBe(true);
  });

  it('adds a member asked for four times at the same moment once, answering each as done', async () => {
    const group = (await api().post('/api/v1/groups').set(auth()).send({ name: 'joined-at-once' }).expect(201)).body;
    const dana = await t.app.get(UsersService).create({ username: 'dana', password: 'dana password' }, SYSTEM);
    const add = () => api().post(`/api/v1/groups/${group.id}/members`).set(auth()).send({ userId: dana.id });
    const answers = await Promise.all(Array.from({ length: 4 }, add));
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200]);
    for (const answer of answers) expect(answer.body.members).toEqual([{ id: dana.id, username: 'dana' }]);
    const audited = await t.app.get(DataSource).getRepository(AuditEvent).findBy({ targetId: group.id });
    expect(audited.filter((event) => event.action === 'group.member_added')).toHaveLength(1);
  });

  it('answers 409, not 500, to the second of two creations of one name at the same moment', async () => {
    const create = () => api().post('/api/v1/groups').set(auth()).send({ name: 'at-once' });
    const answers = await Promise.all(Array.from({ length: 4 }, create));
    expect(answers.map((answer) => answer.status).sort()).toEqual([201, 409, 409, 409]);
    const refused = answers.find((answer) => answer.status === 409)!;
    expect(refused.body).toMatchObject({ error: 'conflict', code: 'conflict' });
    expect(JSON.stringify(refused.body)).not.toMatch(/duplicate|constraint|UNIQUE/i); // the database's words stay inside
  });

  it('refuses bad names with 400, a taken name with 409, and stores nothing', async () => {
    await createGroup('taken');
    for (const name of ['', 'two words', '-dash', 'a,b', 'x'.repeat(65), '0a1b2c3d-0000-4000-8000-123456789abc']) {
      const response = await api().post('/api/v1/groups').set(auth()).send({ name });
      expect({ name, status: response.status }).toEqual({ name, status: 400 });
    }
    for (const body of [{}, { name: 'ok', description: 'd'.repeat(201) }, { name: 'ok', extra: true }, { name: 7 }]) {
      expect((await api().post('/api/v1/groups').set(auth()).send(body)).status).toBe(400);
    }
    const conflict = await api().post('/api/v1/groups').set(auth()).send({ name: 'TAKEN' });
    expect(conflict.status).toBe(409);
    expect(conflict.body).toMatchObject({ error: 'conflict', code: 'conflict' });
    const names = (await api().get('/api/v1/groups').set(auth())).body.items.map(
      (group: { name: string }) => group.name,
    );
    expect(names.filter((name: string) => name === 'taken')).toHaveLength(1);
    expect(names).not.toContain('ok');
    expect(names).not.toContain('two words');
  });

  it('answers 404 for an unknown group or user, and 400 for a membership without a user', async () => {
    const group = await createGroup('lonely');
    const user = await createUser({ username: 'carol' });
    const unknownId = '00000000-0000-4000-8000-000000000000';
    const cases: [string, request.Test][] = [
      ['get unknown group', api().get(`/api/v1/groups/${unknownId}`)],
      ['get unknown name', api().get('/api/v1/groups/no-such-group')],
      ['add to unknown group', api().post('/api/v1/groups/no-such-group/members').send({ userId: user.id })],
      ['add unknown user id', api().post(`/api/v1/groups/${group.id}/members`).send({ userId: unknownId })],
      ['add unknown username', api().post(`/api/v1/groups/${group.id}/members`).send({ username: 'nobody' })],
      ['remove unknown user', api().delete(`/api/v1/groups/${group.id}/members/${unknownId}`)],
      ['remove with a bad id', api().delete(`/api/v1/groups/${group.id}/members/not-an-id`)],
      ['remove from unknown group', api().delete(`/api/v1/groups/${unknownId}/members/${user.id}`)],
    ];
    for (const [what, call] of cases) {
      const response = await call.set(auth());
      expect({ what, status: response.status }).toEqual({ what, status: 404 });
    }
    for (const body of [{}, { userId: user.id, username: 'carol' }, { user: 'carol' }]) {
      const response = await api().post(`/api/v1/groups/${group.id}/members`).set(auth()).send(body);
      expect({ body, status: response.status }).toEqual({ body, status: 400 });
    }
    expect((await api().get(`/api/v1/groups/${group.id}`).set(auth())).body.members).toEqual([]);
  });

  it('is for administrators only', async () => {
    await createUser({ username: 'dave', password: 'dave password' });
    expect((await api().get('/api/v1/groups')).status).toBe(401);
    expect((await api().post('/api/v1/groups').send({ name: 'sneaky' })).status).toBe(401);
    const browser = new Browser(t.url);
    await browser.login('dave', 'dave password');
    expect((await browser.agent.get('/api/v1/groups')).status).toBe(403);
  });

  it('is described in the OpenAPI document', async () => {
    const { body } = await api().get('/api/docs');
    expect(Object.keys(body.paths)).toEqual(
      expect.arrayContaining([
        '/groups',
        '/groups/{group}',
        '/groups/{group}/members',
        '/groups/{group}/members/{userId}',
      ]),
    );
    expect(Object.keys(body.components.schemas.User.properties)).toEqual(
      expect.arrayContaining(['givenName', 'familyName', 'emailVerified', 'groups']),
    );
    expect(body.components.schemas.GroupCreate.required).toEqual(['name']);
  });
});

describe('users and groups in the CLI', () => {
  /** Runs a CLI command in this process against the test app's database; stderr is captured. */
  const cli = async (...argv: string[]) => {
    const output: string[] = [];
    let stderr = '';
    const write = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      stderr += String(chunk);
      return true;
    });
    try {
      const code = await runCli(argv, t.config, (line) => output.push(line));
      return { code, output, stderr };
    } finally {
      write.mockRestore();
    }
  };

  it('creates a user with given name, family name and a verified email', async () => {
    const result = await cli(
      'create-user',
      'erin',
      '--email',
      'erin@example.org',
      '--email-verified',
      '--given-name',
      'Erin',
      '--family-name',
      'Example',
    );
    expect(result.code).toBe(0);
    expect(await t.app.get(UsersService).findByUsername('erin')).toMatchObject({
      email: 'erin@example.org',
      emailVerified: true,
      givenName: 'Erin',
      familyName: 'Example',
    });
    const refused = await cli('create-user', 'frank', '--email-verified');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('an address can be verified only when the user has one');
    expect(await t.app.get(UsersService).findByUsername('frank')).toBeNull();
  });

  it('creates and lists groups, and adds and removes members', async () => {
    await cli('create-user', 'gus');
    const created = await cli('create-group', 'Ops', '--description', 'on call');
    expect(created.code).toBe(0);
    const group = await t.app.get(GroupsService).get('ops');
    expect(created.output).toEqual([`created group ops (${group.id})`]);
    expect(group.description).toBe('on call');

    expect(await cli('add-to-group', 'ops', 'gus')).toMatchObject({ code: 0, output: ['gus is a member of ops'] });
    expect(await cli('add-to-group', 'OPS', 'erin')).toMatchObject({ code: 0, output: ['erin is a member of ops'] });
    const gus = (await t.app.get(UsersService).findByUsername('gus'))!;
    expect(await t.app.get(GroupsService).namesOf(gus.id)).toEqual(['ops']);

    const listed = await cli('list-groups');
    expect(listed.code).toBe(0);
    expect(listed.output[0]).toBe('name\tid\tmembers\tdescription');
    expect(listed.output).toContain(`ops\t${group.id}\t2\ton call`);

    expect(await cli('remove-from-group', 'ops', 'gus')).toMatchObject({
      code: 0,
      output: ['removed gus from ops'],
    });
    expect(await t.app.get(GroupsService).namesOf(gus.id)).toEqual([]);
    expect((await cli('list-groups')).output).toContain(`ops\t${group.id}\t1\ton call`);
  });

  it('refuses bad input: exit 2 with the usage for a missing argument, 1 for what does not exist or is taken', async () => {
    expect(await cli('create-group')).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^signoff: expected a group name\n\nusage:/),
    });
    expect(await cli('add-to-group', 'ops')).toMatchObject({ code: 2 });
    const badName = await cli('create-group', 'two words');
    expect(badName.code).toBe(1);
    expect(badName.stderr).toContain('A group name is 1–64 lower-case letters');
    const taken = await cli('create-group', 'ops');
    expect(taken).toMatchObject({ code: 1, stderr: 'signoff: a group named "ops" already exists\n' });
    expect(await cli('add-to-group', 'no-such-group', 'gus')).toMatchObject({
      code: 1,
      stderr: 'signoff: No such group.\n',
    });
    expect(await cli('add-to-group', 'ops', 'nobody')).toMatchObject({
      code: 1,
      stderr: 'signoff: no user named "nobody"\n',
    });
    expect(await cli('remove-from-group', 'ops', 'gus')).toMatchObject({
      code: 1,
      stderr: 'signoff: The user is not a member of this group.\n',
    });
  });
});
