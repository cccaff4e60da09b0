import { Test, type TestingModule } from '@nestjs/testing';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { SYSTEM } from '../audit/audit.service';
import { ManualClock } from '../clock/clock';
import { loadConfig } from '../config/config';
import { CoreModule } from '../core.module';
import { AuditEvent, GroupMember, type User } from '../entities';
import { SignoffError } from '../errors/signoff-error';
import { GroupsService, groupNameProblem } from './groups.service';
import { UsersService } from './users.service';

// GroupsService over a real, migrated SQLite database: names as applications see them, and
// namesOf, which the OIDC `groups` claim and SAML `isMemberOf` read.
let dataDir: string;
let testing: TestingModule;
let groups: GroupsService;
let users: UsersService;
let db: DataSource;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'signoff-groups-unit-'));
  const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
  testing = await Test.createTestingModule({
    imports: [CoreModule.forRoot(config, { clock: new ManualClock() })],
  }).compile();
  groups = testing.get(GroupsService);
  users = testing.get(UsersService);
  db = testing.get(DataSource);
});
afterAll(async () => {
  await testing.close();
  rmSync(dataDir, { recursive: true, force: true });
});

let seq = 0;
const newUser = (): Promise<User> => users.create({ username: `user${++seq}` }, SYSTEM);
/** The SignoffError code `promise` is refused with. */
const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => 'accepted',
    (error: unknown) => (error instanceof SignoffError ? error.code : String(error)),
  );

describe('group names', () => {
  it.each(['staff', 'a', '0', 'dev-ops.eu_1', 'x'.repeat(64), 'cn-admins'])('accepts %s', (name) => {
    expect(groupNameProblem(name)).toBeNull();
  });

  it.each([
    ['empty', ''],
    ['starting with a dot', '.hidden'],
    ['starting with a dash', '-x'],
    ['with a space', 'two words'],
    ['with a comma', 'a,b'],
    ['upper case (names are compared lower-cased)', 'Staff'],
    ['non-ASCII', 'équipe'],
    ['65 characters', 'x'.repeat(65)],
    ['shaped like an id', '0a1b2c3d-0000-4000-8000-123456789abc'],
  ])('refuses a name %s', (_why, name) => {
    expect(groupNameProblem(name)).toEqual(expect.any(String));
  });

  it('creates with the name trimmed and lower-cased, and refuses the same name in another case', async () => {
    const group = await groups.create({ name: '  Editors ', description: 'may edit' }, SYSTEM);
    expect(group).toMatchObject({ name: 'editors', description: 'may edit' });
    expect(await refusal(groups.create({ name: 'EDITORS' }, SYSTEM))).toBe('conflict');
    expect((await groups.get('Editors')).id).toBe(group.id);
  });

  it('refuses a bad name or a long description and stores nothing', async () => {
    const before = (await groups.list()).length;
    expect(await refusal(groups.create({ name: 'no spaces please' }, SYSTEM))).toBe('invalid_request');
    expect(await refusal(groups.create({ name: 'fine', description: 'd'.repeat(201) }, SYSTEM))).toBe(
      'invalid_request',
    );
    expect((await groups.list()).length).toBe(before);
  });
});

describe('namesOf', () => {
  it('is empty for a user in no group, and for an unknown user', async () => {
    const user = await newUser();
    expect(await groups.namesOf(user.id)).toEqual([]);
    expect(await groups.namesOf('00000000-0000-4000-8000-000000000000')).toEqual([]);
  });

  it("lists the user's groups sorted, and only theirs", async () => {
    const [user, other] = [await newUser(), await newUser()];
    // Eight names in no order (ids are random, so rows come back in any order unless sorted).
    const names = ['zeta', 'alpha', 'mid', 'omega', 'beta', 'kappa', 'delta', 'gamma'];
    for (const name of [...names, 'others-only']) await groups.create({ name }, SYSTEM);
    for (const name of names) await groups.addMember(name, user.id, SYSTEM);
    await groups.addMember('others-only', { username: other.username }, SYSTEM);
    const sorted = ['alpha', 'beta', 'delta', 'gamma', 'kappa', 'mid', 'omega', 'zeta'];
    expect(await groups.namesOf(user.id)).toEqual(sorted);
    expect(await groups.namesOf(other.id)).toEqual(['others-only']);
    expect((await groups.groupsOf(user.id)).map((group) => group.name)).toEqual(sorted);
  });

  it('follows removals of members and of groups', async () => {
    const user = await newUser();
    for (const name of ['keep', 'leave', 'gone']) {
      await groups.create({ name }, SYSTEM);
      await groups.addMember(name, user.id, SYSTEM);
    }
    await groups.removeMember('leave', user.id, SYSTEM);
    await groups.remove('gone', SYSTEM);
    expect(await groups.namesOf(user.id)).toEqual(['keep']);
    expect(await db.getRepository(GroupMember).countBy({ userId: user.id })).toBe(1);
  });
});

describe('members', () => {
  it('adds by id or username once (one audit event), and removes', async () => {
    const [ann, bob] = [await newUser(), await newUser()];
    const group = await groups.create({ name: 'readers' }, SYSTEM);
    await groups.addMember('readers', ann.id, SYSTEM);
    await groups.addMember(group.id, { username: ann.username.toUpperCase() }, SYSTEM);
    await groups.addMember('readers', { username: bob.username }, SYSTEM);
    const added = await db.getRepository(AuditEvent).findBy({ action: 'group.member_added', targetId: group.id });
    expect(added.map((event) => (event.details as { userId: string }).userId).sort()).toEqual([ann.id, bob.id].sort());
    expect((await groups.withMembers('readers')).members.map((user) => user.username)).toEqual([
      ann.username,
      bob.username,
    ]);
    await groups.removeMember('readers', ann.id, SYSTEM);
    expect((await groups.members('readers')).map((user) => user.id)).toEqual([bob.id]);
  });

  it('refuses an unknown user or group, and removing a non-member, with not_found', async () => {
    const user = await newUser();
    await groups.create({ name: 'strict' }, SYSTEM);
    expect(await refusal(groups.addMember('strict', { username: 'nobody-here' }, SYSTEM))).toBe('not_found');
    expect(await refusal(groups.addMember('strict', '00000000-0000-4000-8000-000000000000', SYSTEM))).toBe('not_found');
    expect(await refusal(groups.addMember('no-such-group', user.id, SYSTEM))).toBe('not_found');
    expect(await refusal(groups.removeMember('strict', user.id, SYSTEM))).toBe('not_found');
    expect(await groups.members('strict')).toEqual([]);
  });
});
