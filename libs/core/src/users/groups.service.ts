import { Injectable } from '@nestjs/common';
import { DataSource, In } from 'typeorm';
import { type Actor, AuditService } from '../audit/audit.service';
import { Clock } from '../clock/clock';
import { newId } from '../crypto/random';
import { Group, GroupMember, User } from '../entities';
import { SignoffError } from '../errors/signoff-error';

/** Group names as applications see them: lower-case letters, digits and `._-`, starting with a letter or digit. */
const GROUP_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export const normalizeGroupName = (name: string): string => name.trim().toLowerCase();

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
    if (!GROUP_NAME.test(name)) {
      throw new SignoffError(
        'invalid_request',
        'A group name is 1–64 lower-case letters, digits, ".", "_" or "-", starting with a letter or digit.',
      );
    }
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

  /** Adds the user to the group; already a member: nothing changes. */
  async addMember(idOrName: string, userId: string, actor: Actor): Promise<void> {
    const group = await this.get(idOrName);
    if (!(await this.db.getRepository(User).existsBy({ id: userId })))
      throw new SignoffError('not_found', 'No such user.');
    await this.db.transaction(async (tx) => {
      if (await tx.existsBy(GroupMember, { groupId: group.id, userId })) return;
      await tx.insert(GroupMember, { groupId: group.id, userId, createdAt: this.clock.now() });
      await this.audit.record(
        { action: 'group.member_added', actor, target: { type: 'group', id: group.id }, details: { userId } },
        tx,
      );
    });
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
    const group = await this.get(idOrName);
    const rows = await this.db
      .getRepository(GroupMember)
      .find({ where: { groupId: group.id }, relations: { user: true } });
    return rows.map((row) => row.user).sort((a, b) => a.username.localeCompare(b.username));
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
