import type { ApiToken, Group, IdpSession, User } from '@signoff/core';
import type { LiveSessionListing } from '@signoff/sessions';
import { apiTokenStatus } from './api-tokens.service';

// What the API shows of each row. Password hashes and browser ids never leave the server.

export const userView = (user: User) => ({
  id: user.id,
  username: user.username,
  email: user.email,
  emailVerified: user.emailVerified,
  name: user.name,
  givenName: user.givenName,
  familyName: user.familyName,
  isActive: user.isActive,
  isAdmin: user.isAdmin,
  createdAt: user.createdAt,
  updatedAt: user.updatedAt,
  deactivatedAt: user.deactivatedAt,
});

/** A group; with `members` (GET one, and the answers to membership changes): each member's id and username. */
export const groupView = (group: Group, members?: User[]) => ({
  id: group.id,
  name: group.name,
  description: group.description,
  createdAt: group.createdAt,
  updatedAt: group.updatedAt,
  ...(members && { members: members.map((user) => ({ id: user.id, username: user.username })) }),
});

export const sessionView = (session: IdpSession) => ({
  id: session.id,
  userId: session.userId,
  authTime: session.authTime,
  lastSeenAt: session.lastSeenAt,
  expiresAt: session.expiresAt,
  createdAt: session.createdAt,
  endedAt: session.endedAt,
  endReason: session.endReason,
  ip: session.ip,
  userAgent: session.userAgent,
});

/** A live session as listed: the session, its user, and the applications signed in to in it. */
export const liveSessionView = (session: LiveSessionListing) => ({
  ...sessionView(session),
  user: { id: session.user.id, username: session.user.username },
  applications: session.applications,
});

/** An API token as listed: who, what, when — never the token or its hash. */
export const apiTokenView = (token: ApiToken, now: Date) => ({
  id: token.id,
  userId: token.userId,
  username: token.user?.username ?? null,
  name: token.name,
  status: apiTokenStatus(token, now),
  scopes: token.scopes,
  createdAt: token.createdAt,
  lastUsedAt: token.lastUsedAt,
  expiresAt: token.expiresAt,
  revokedAt: token.revokedAt,
});
