import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { type Actor, AuditService } from '../audit/audit.service';
import { Clock } from '../clock/clock';
import { hashPassword } from '../crypto/password';
import { newId } from '../crypto/random';
import { User } from '../entities';

export interface NewUser {
  username: string;
  password?: string;
  email?: string | null;
  name?: string | null;
  isAdmin?: boolean;
}

export interface UserChanges {
  email?: string | null;
  name?: string | null;
  password?: string;
  isAdmin?: boolean;
  isActive?: boolean;
}

export const normalizeUsername = (username: string): string => username.trim().toLowerCase();

/** User accounts. Ending a deactivated user's sessions is the caller's part (it starts a logout). */
@Injectable()
export class UsersService {
  constructor(private readonly db: DataSource, private readonly clock: Clock, private readonly audit: AuditService) {}

  async create(input: NewUser, actor: Actor): Promise<User> {
    const username = normalizeUsername(input.username);
    const passwordHash = input.password ? await hashPassword(input.password) : null;
    return this.db.transaction(async (tx) => {
      if (await tx.existsBy(User, { username })) throw new ConflictException(`a user named "${username}" already exists`);
      const now = this.clock.now();
      const user = await tx.save(User, {
        id: newId(), username, email: input.email ?? null, name: input.name ?? null, passwordHash,
        isActive: true, isAdmin: input.isAdmin ?? false, createdAt: now, updatedAt: now, deactivatedAt: null,
      });
      await this.audit.record({ action: 'user.created', actor, target: { type: 'user', id: user.id }, details: { username, isAdmin: user.isAdmin } }, tx);
      return user;
    });
  }

  async update(id: string, changes: UserChanges, actor: Actor): Promise<User> {
    const passwordHash = changes.password ? await hashPassword(changes.password) : undefined;
    return this.db.transaction(async (tx) => {
      const user = await this.getIn(tx, id);
      const { password: _password, ...fields } = changes;
      Object.assign(user, fields, passwordHash ? { passwordHash } : {}, { updatedAt: this.clock.now() });
      if (changes.isActive === true) user.deactivatedAt = null;
      await tx.save(User, user);
      await this.audit.record({ action: 'user.updated', actor, target: { type: 'user', id }, details: { changed: Object.keys(changes) } }, tx);
      return user;
    });
  }

  /** Marks the user inactive within the caller's transaction; returns false if already inactive. */
  async deactivateIn(tx: EntityManager, user: User, actor: Actor): Promise<boolean> {
    if (!user.isActive) return false;
    const now = this.clock.now();
    await tx.update(User, { id: user.id }, { isActive: false, deactivatedAt: now, updatedAt: now });
    Object.assign(user, { isActive: false, deactivatedAt: now, updatedAt: now });
    await this.audit.record({ action: 'user.deactivated', actor, target: { type: 'user', id: user.id } }, tx);
    return true;
  }

  async get(id: string): Promise<User> {
    return this.getIn(this.db.manager, id);
  }

  async findByUsername(username: string): Promise<User | null> {
    return this.db.getRepository(User).findOneBy({ username: normalizeUsername(username) });
  }

  async list(options: { limit: number; offset: number }): Promise<{ items: User[]; total: number }> {
    const [items, total] = await this.db.getRepository(User).findAndCount({ order: { username: 'ASC' }, take: options.limit, skip: options.offset });
    return { items, total };
  }

  private async getIn(tx: EntityManager, id: string): Promise<User> {
    const user = await tx.findOneBy(User, { id });
    if (!user) throw new NotFoundException('no such user');
    return user;
  }
}
