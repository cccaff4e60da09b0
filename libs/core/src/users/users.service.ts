import { Inject, Injectable } from '@nestjs/common';
import { Brackets, DataSource, type EntityManager, In, Not } from 'typeorm';
import { type Actor, AuditService } from '../audit/audit.service';
import { Clock } from '../clock/clock';
import type { Config } from '../config/config';
import { CONFIG } from '../config/config.tokens';
import { serialize } from '../database/data-source';
import { hashPassword } from '../crypto/password';
import { passwordProblem } from '../crypto/password-policy';
import { SignoffError } from '../errors/signoff-error';
import { newId } from '../crypto/random';
import { User } from '../entities';
import type { UserSubject } from './subject-identifier';

/** Ids per statement when changing many users: well under SQLite's bound-variable limit. */
const ID_CHUNK = 500;

/** What applications learn of a user besides the username (OIDC `profile` and `email` claims, SAML attributes). */
export interface UserProfile {
  email?: string | null;
  /** Whether `email` is known to belong to the user (OIDC `email_verified`). Only true with an address. */
  emailVerified?: boolean;
  /** Full name, as shown. */
  name?: string | null;
  givenName?: string | null;
  familyName?: string | null;
}

export interface NewUser extends UserProfile {
  username: string;
  password?: string;
  isAdmin?: boolean;
}

/**
 * Changes to a user's profile and rights. A password is changed only with `setPasswordIn`. A new
 * `email` is unverified unless the same change sets `emailVerified`.
 */
export interface UserChanges extends UserProfile {
  isAdmin?: boolean;
  isActive?: boolean;
}

/** The longest value of each profile field: the lengths of the `users` columns. */
export const PROFILE_LIMITS = { email: 254, name: 200, givenName: 100, familyName: 100 } as const;

/** Characters no profile field may hold. */
// eslint-disable-next-line no-control-regex -- control characters are what it looks for
export const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;
/**
 * The other characters XML 1.0 cannot carry (§2.2 Char): U+FFFE, U+FFFF and a surrogate without its
 * pair. A SAML message holding one could be neither written well-formed nor signed.
 */
const NOT_XML_CHARACTERS = /[\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Checks profile fields as they will be stored (`emailVerified` with the address it vouches for);
 * `invalid_request` listing every problem. The admin API's schemas say the same; the CLI and other
 * callers come through here only.
 */
export function checkProfile(profile: UserProfile): void {
  const problems: string[] = [];
  for (const [field, max] of Object.entries(PROFILE_LIMITS)) {
    const value = profile[field as keyof typeof PROFILE_LIMITS];
    if (value !== undefined && value !== null && (typeof value !== 'string' || value.length > max))
      problems.push(`${field}: must be a string of at most ${max} characters`);
    // Control characters: most are not even allowed in XML 1.0, so a SAML assertion carrying them
    // would be ill-formed and the user locked out of every SAML application.
    else if (typeof value === 'string' && CONTROL_CHARACTERS.test(value))
      problems.push(`${field}: must not contain control characters`);
    else if (typeof value === 'string' && NOT_XML_CHARACTERS.test(value))
      problems.push(`${field}: must not contain U+FFFE, U+FFFF or an unpaired surrogate (XML cannot carry them)`);
  }
  if (profile.emailVerified !== undefined && typeof profile.emailVerified !== 'boolean')
    problems.push('emailVerified: must be true or false');
  if (profile.emailVerified === true && !profile.email)
    problems.push('emailVerified: an address can be verified only when the user has one');
  if (problems.length)
    throw new SignoffError('invalid_request', `The user profile is invalid: ${problems.join('; ')}.`, problems);
}

export const normalizeUsername = (username: string): string => username.trim().toLowerCase();

/**
 * User accounts. Ending a deactivated user's sessions, or those of a user whose password changed, is
 * the caller's part (it starts a logout in the same transaction).
 */
@Injectable()
export class UsersService {
  constructor(
    private readonly db: DataSource,
    private readonly clock: Clock,
    private readonly audit: AuditService,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  async create(input: NewUser, actor: Actor): Promise<User> {
    const username = normalizeUsername(input.username);
    checkProfile(input);
    const passwordHash = input.password === undefined ? null : await this.hashNewPassword(input.password);
    return this.db.transaction(async (tx) => {
      if (await tx.existsBy(User, { username }))
        throw new SignoffError('conflict', `a user named "${username}" already exists`);
      const now = this.clock.now();
      const user = await tx.save(User, {
        id: newId(),
        username,
        email: input.email ?? null,
        emailVerified: input.emailVerified ?? false,
        name: input.name ?? null,
        givenName: input.givenName ?? null,
        familyName: input.familyName ?? null,
        passwordHash,
        isActive: true,
        isAdmin: input.isAdmin ?? false,
        createdAt: now,
        updatedAt: now,
        deactivatedAt: null,
      });
      await this.audit.record(
        {
          action: 'user.created',
          actor,
          target: { type: 'user', id: user.id },
          details: { username, isAdmin: user.isAdmin },
        },
        tx,
      );
      return user;
    });
  }

  async update(id: string, changes: UserChanges, actor: Actor): Promise<User> {
    return this.db.transaction((tx) => this.updateIn(tx, id, changes, actor));
  }

  /** `update` within the caller's transaction. */
  async updateIn(tx: EntityManager, id: string, changes: UserChanges, actor: Actor): Promise<User> {
    const user = await this.getIn(tx, id);
    // only these: a password never comes in this way
    const { email, emailVerified, name, givenName, familyName, isAdmin, isActive } = changes;
    const fields: Partial<User> = Object.fromEntries(
      Object.entries({ email, emailVerified, name, givenName, familyName, isAdmin, isActive }).filter(
        ([, value]) => value !== undefined,
      ),
    );
    // A verification vouched for one address: another address starts unverified, unless this same
    // change vouches for it (an administrator who checked it).
    if (email !== undefined && email !== user.email && emailVerified === undefined && user.emailVerified)
      fields.emailVerified = false;
    checkProfile({ ...user, ...fields });
    if (isAdmin === false && user.isAdmin && user.isActive) await this.keepAnAdministrator(tx, [user]);
    const reactivated = changes.isActive === true && !user.isActive;
    Object.assign(user, fields, { updatedAt: this.clock.now() });
    if (changes.isActive === true) user.deactivatedAt = null;
    await tx.save(User, user);
    await this.audit.record(
      { action: 'user.updated', actor, target: { type: 'user', id }, details: { changed: Object.keys(fields) } },
      tx,
    );
    // One action for every way a user comes back (here, or `activate`): what an audit filter looks for.
    if (reactivated) await this.audit.record({ action: 'user.activated', actor, target: { type: 'user', id } }, tx);
    return user;
  }

  /**
   * Lets a deactivated user sign in again (audited as `user.activated`). Idempotent: an active user
   * is returned as it is, and nothing is recorded. Sessions and tokens ended at the deactivation stay ended.
   */
  async activate(id: string, actor: Actor): Promise<User> {
    return this.db.transaction(async (tx) => (await this.activateIn(tx, id, actor)).user);
  }

  /** `activate` in the caller's transaction; `activated`: whether this call changed it (it was inactive). */
  async activateIn(tx: EntityManager, id: string, actor: Actor): Promise<{ user: User; activated: boolean }> {
    const user = await this.getIn(tx, id);
    if (user.isActive) return { user, activated: false };
    const now = this.clock.now();
    // Conditional: a concurrent activation records its event once, not twice.
    const changed = await tx.update(
      User,
      { id, isActive: false },
      { isActive: true, deactivatedAt: null, updatedAt: now },
    );
    if (!changed.affected) return { user: await this.getIn(tx, id), activated: false };
    Object.assign(user, { isActive: true, deactivatedAt: null, updatedAt: now });
    await this.audit.record({ action: 'user.activated', actor, target: { type: 'user', id } }, tx);
    return { user, activated: true };
  }

  /**
   * Checks a new password against the policy (NIST SP 800-63B §5.1.1.2, see password-policy.ts) and
   * hashes it; 400 with the reason when it is refused. Slow on purpose: call it outside transactions.
   */
  async hashNewPassword(password: string): Promise<string> {
    const problem = passwordProblem(password, this.config.passwords.minLength);
    if (problem)
      throw new SignoffError('weak_password', `The password is not acceptable: ${problem}.`, [`password: ${problem}`]);
    return hashPassword(password);
  }

  /**
   * Sets a password hash from `hashNewPassword` within the caller's transaction, who must also end
   * the user's other sessions there (a password change is how a user locks out whoever knew the old
   * one). The audit event never carries the password.
   */
  async setPasswordIn(tx: EntityManager, user: User, passwordHash: string, actor: Actor): Promise<void> {
    const now = this.clock.now();
    await tx.update(User, { id: user.id }, { passwordHash, updatedAt: now });
    Object.assign(user, { passwordHash, updatedAt: now });
    await this.audit.record({ action: 'user.password_changed', actor, target: { type: 'user', id: user.id } }, tx);
  }

  /** Marks the user inactive within the caller's transaction; returns false if already inactive. */
  async deactivateIn(tx: EntityManager, user: User, actor: Actor): Promise<boolean> {
    return (await this.deactivateManyIn(tx, [user], actor)).length === 1;
  }

  /**
   * Marks the users inactive within the caller's transaction, in a statement per chunk and an audit
   * event each (`user.deactivated`); returns those that were active. Refused (`conflict`) when it
   * would leave no active administrator.
   */
  async deactivateManyIn(tx: EntityManager, users: User[], actor: Actor): Promise<User[]> {
    const leaving = users.filter((user) => user.isActive);
    if (leaving.length === 0) return [];
    const admins = leaving.filter((user) => user.isAdmin);
    if (admins.length) await this.keepAnAdministrator(tx, admins);
    const now = this.clock.now();
    for (let start = 0; start < leaving.length; start += ID_CHUNK) {
      const ids = leaving.slice(start, start + ID_CHUNK).map((user) => user.id);
      await tx.update(User, { id: In(ids) }, { isActive: false, deactivatedAt: now, updatedAt: now });
    }
    for (const user of leaving) Object.assign(user, { isActive: false, deactivatedAt: now, updatedAt: now });
    await this.audit.recordMany(
      leaving.map((user) => ({ action: 'user.deactivated', actor, target: { type: 'user', id: user.id } })),
      tx,
    );
    return leaving;
  }

  /**
   * Refuses (`conflict`) to take the last active administrators' rights away: with nobody left to sign
   * in to the console or hold an API token, only the CLI on the database's machine could undo it.
   */
  private async keepAnAdministrator(tx: EntityManager, leaving: User[]): Promise<void> {
    // One at a time: two calls each taking a different administrator away would each count the other
    // as staying (PostgreSQL's READ COMMITTED), and leave none.
    await serialize(tx, 'administrators');
    const staying = await tx.countBy(User, {
      isAdmin: true,
      isActive: true,
      id: Not(In(leaving.map((user) => user.id))),
    });
    if (!staying)
      throw new SignoffError(
        'conflict',
        leaving.length === 1
          ? `${leaving[0].username} is the last active administrator: make another user an administrator first.`
          : `${leaving.map((user) => user.username).join(', ')} are the last active administrators: make another user an administrator first.`,
      );
  }

  /** The users with these ids, in no particular order (missing ones are left out). */
  async getMany(ids: string[]): Promise<User[]> {
    const found: User[] = [];
    for (let start = 0; start < ids.length; start += ID_CHUNK)
      found.push(...(await this.db.getRepository(User).findBy({ id: In(ids.slice(start, start + ID_CHUNK)) })));
    return found;
  }

  async get(id: string): Promise<User> {
    return this.getIn(this.db.manager, id);
  }

  /** The user, read within the caller's transaction; 404 when there is none. */
  async getIn(tx: EntityManager, id: string): Promise<User> {
    const user = await tx.findOneBy(User, { id });
    if (!user) throw new SignoffError('not_found', 'no such user');
    return user;
  }

  /** The usernames of these users, by id (ids of no user are left out), for lists that name users: one query per 500 ids. */
  async usernamesOf(ids: string[]): Promise<Map<string, string>> {
    const unique = [...new Set(ids)];
    const usernames = new Map<string, string>();
    // In chunks: one statement with thousands of ids exceeds SQLite's limits.
    for (let start = 0; start < unique.length; start += 500) {
      const users = await this.db
        .getRepository(User)
        .find({ where: { id: In(unique.slice(start, start + 500)) }, select: { id: true, username: true } });
      for (const user of users) usernames.set(user.id, user.username);
    }
    return usernames;
  }

  /**
   * The users a subject identifier names (RFC 9493): `iss_sub` with Signoff's own issuer and the
   * public `sub` (the user's id), `opaque` with the user's id, or `email`, compared without regard to
   * case, which names every account with that address. [] when none.
   */
  async findBySubject(subject: UserSubject, issuer: string): Promise<User[]> {
    const users = this.db.getRepository(User);
    if (subject.format === 'email')
      return (
        users
          .createQueryBuilder('u')
          // Both sides folded by the database: the same LOWER (ASCII only on SQLite, Unicode on PostgreSQL).
          .where('LOWER(u.email) = LOWER(:email)', { email: subject.email })
          .orderBy('u.username')
          .getMany()
      );
    const id = subject.format === 'iss_sub' ? (subject.iss === issuer ? subject.sub : null) : subject.id;
    if (!id) return [];
    const user = await users.findOneBy({ id });
    return user ? [user] : [];
  }

  async findByUsername(username: string): Promise<User | null> {
    return this.db.getRepository(User).findOneBy({ username: normalizeUsername(username) });
  }

  /**
   * Users by username, a page at a time. `q`: only those whose username, email or name contains it,
   * ignoring case (% and _ match themselves).
   */
  async list(options: { limit: number; offset: number; q?: string }): Promise<{ items: User[]; total: number }> {
    const query = this.db.getRepository(User).createQueryBuilder('u');
    if (options.q) {
      const pattern = `%${options.q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      query.where(
        new Brackets((or) =>
          or
            .where("LOWER(u.username) LIKE :pattern ESCAPE '\\'", { pattern })
            .orWhere("LOWER(u.email) LIKE :pattern ESCAPE '\\'", { pattern })
            .orWhere("LOWER(u.name) LIKE :pattern ESCAPE '\\'", { pattern }),
        ),
      );
    }
    const [items, total] = await query
      .orderBy('u.username', 'ASC')
      .take(options.limit)
      .skip(options.offset)
      .getManyAndCount();
    return { items, total };
  }
}
