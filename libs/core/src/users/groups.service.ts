import { Injectable } from '@nestjs/common';
import { DataSource, In } from 'typeorm';
import { type Actor, AuditService } from '../audit/audit.service';
import { Clock } from '../clock/clock';
import { isUniqueViolation } from '../database/database-errors';
import { newId } from '../crypto/random';
import { Group, GroupMember, User } from '../entities';
import { SignoffError } from '../errors/signoff-error';
import { normalizeUsername } from './users.service';

/** Group names as applications see them: lower-case letters, digits and `._-`, starting with a letter or digit. */
const GROUP_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/** An id's shape: groups are found by id or name, so no name may look like an id. */
const ID_SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** The `groups.description` column's length. */
export const GROUP_DESCRIPTION_MAX = 200;

export const normalizeGroupName = (name: string): string => name.trim().toLowerCase();

/**
 * Why `name` (as normalized) cannot name a group, or null when it can. Shared by the admin API and
 * the CLI through `GroupsService.create`; exported for the unit tests.
 */
export function groupNameProblem(name: string): string | null {
  if (!GROUP_NAME.test(name))
    return 'A group name is 1–64 lower-case letters, digits, ".", "_" or "-", starting with a letter or digit.';
  if (ID_SHAPE.test(name)) return 'A group name cannot have the form of an id (a UUID).';
  return null;
}

/** A member as the caller names them: a user id, or `{ username }`. */
export type MemberRef = string | { username: string };

/**
 * Groups and their members. Applications authorize by group: OIDC's `groups` claim, SAML's
 * `isMemberOf`. Names are unique without regard to case and never contain spaces or commas, so a
 * list of them reads the same everywhere.
 */
@Injectable()
export class GroupsService {
  constructor(
    private readonly db: DataSource,
    private readonly clock: Clock,
    private readonly audit: AuditService,
  ) {}

  async create(input: { name: string; description?: string | null }, actor: Actor): Promise<Group> {
    const name = normalizeGroupName(input.name);
    const problem = groupNameProblem(name);
    if (problem) throw new SignoffError('invalid_request', problem, [`name: ${problem}`]);
    if (input.description && input.description.length > GROUP_DESCRIPTION_MAX)
      throw new SignoffError('invalid_request', 'The group description is too long.', [
        `description: must be at most ${GROUP_DESCRIPTION_MAX} characters`,
      ]);
    return this.db.transaction(async (tx) => {
      if (await tx.existsBy(Group, { name }))
        throw new SignoffError('conflict', `a group named "${name}" already exists`);
      const now = this.clock.now();
      const group = await tx.save(Group, {
        id: newId(),
        name,
        description: input.description ?? null,
        createdAt: now,
        updatedAt: now,
      });
      await this.audit.record(
        { action: 'group.created', actor, target: { type: 'group', id: group.id }, details: { name } },
        tx,
      );
      return group;
    });
  }

  list(): Promise<Group[]> {
    return this.db.getRepository(Group).find({ order: { name: 'ASC' } });
  }

  /** The group with this id, or this name; `not_found` otherwise. */
  async get(idOrName: string): Promise<Group> {
    const group = await this.db
      .getRepository(Group)
      .findOne({ where: [{ id: idOrName }, { name: normalizeGroupName(idOrName) }] });
    if (!group) throw new SignoffError('not_found', 'No such group.');
    return group;
  }

  async remove(idOrName: string, actor: Actor): Promise<void> {
    const group = await this.get(idOrName);
    await this.db.transaction(async (tx) => {
      await tx.delete(GroupMember, { groupId: group.id });
      await tx.delete(Group, { id: group.id });
      await this.audit.record(
        { action: 'group.deleted', actor, target: { type: 'group', id: group.id }, details: { name: group.name } },
        tx,
      );
    });
  }

  /** Adds the user (an id, or `{ username }`) to the group; already a member: nothing changes. */
  async addMember(idOrName: string, member: MemberRef, actor: Actor): Promise<void> {
    const group = await this.get(idOrName);
    const user = await this.db.getRepository(User).findOne({
      where: typeof member === 'string' ? { id: member } : { username: normalizeUsername(member.username) },
    });
    if (!user) throw new SignoffError('not_found', 'No such user.');
    const userId = user.id;
    try {
      await this.db.transaction(async (tx) => {
        if (await tx.existsBy(GroupMember, { groupId: group.id, userId })) return;
        await tx.insert(GroupMember, { groupId: group.id, userId, createdAt: this.clock.now() });
        await this.audit.record(
          { action: 'group.member_added', actor, target: { type: 'group', id: group.id }, details: { userId } },
          tx,
        );
      });
    } catch (error) {
      // The same addition at the same moment (PostgreSQL: both saw no member, the second insert met
      // the first's row): it is done, by the other request, which audited it.
      if (
        isUniqueViolation(error) &&
        (await this.db.getRepository(GroupMember).existsBy({ groupId: group.id, userId }))
      )
        return;
      throw error;
    }
  }

  async removeMember(idOrName: string, userId: string, actor: Actor): Promise<void> {
    const group = await this.get(idOrName);
    const removed = await this.db.getRepository(GroupMember).delete({ groupId: group.id, userId });
    if (!removed.affected) throw new SignoffError('not_found', 'The user is not a member of this group.');
    await this.audit.record({
      action: 'group.member_removed',
      actor,
      target: { type: 'group', id: group.id },
      details: { userId },
    });
  }

  /** The members of a group, by username. */
  async members(idOrName: string): Promise<User[]> {
    return (await this.withMembers(idOrName)).members;
  }

  /** The group (by id or name) and its members, by username; `not_found` when there is no such group. */
  async withMembers(idOrName: string): Promise<{ group: Group; members: User[] }> {
    const group = await this.get(idOrName);
    const rows = await this.db
      .getRepository(GroupMember)
      .find({ where: { groupId: group.id }, relations: { user: true } });
    return { group, members: rows.map((row) => row.user).sort((a, b) => a.username.localeCompare(b.username)) };
  }

  /** The groups a user belongs to, by name (none for an unknown user). */
  async groupsOf(userId: string): Promise<Group[]> {
    const rows = await this.db.getRepository(GroupMember).find({ where: { userId }, select: { groupId: true } });
    if (!rows.length) return [];
    return this.db
      .getRepository(Group)
      .find({ where: { id: In(rows.map((row) => row.groupId)) }, order: { name: 'ASC' } });
  }

  /** The names of the groups a user belongs to, sorted: what tokens and assertions carry. */
  async namesOf(userId: string): Promise<string[]> {
    const rows = await this.db.getRepository(GroupMember).find({ where: { userId }, select: { groupId: true } });
    if (!rows.length) return [];
    const groups = await this.db
      .getRepository(Group)
      .find({ where: { id: In(rows.map((row) => row.groupId)) }, select: { name: true } });
    return groups.map((group) => group.name).sort();
  }
}
