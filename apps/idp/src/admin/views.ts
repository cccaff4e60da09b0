import type { ApiToken, IdpSession, User } from '@signoff/core';
import { apiTokenStatus } from './api-tokens.service';

// What the API shows of each row. Password hashes and browser ids never leave the server.

export const userView = (user: User) => ({
  id: user.id,
  username: user.username,
  email: user.email,
  name: user.name,
  isActive: user.isActive,
  isAdmin: user.isAdmin,
  createdAt: user.createdAt,
  updatedAt: user.updatedAt,
  deactivatedAt: user.deactivatedAt,
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

/** An API token as listed: who, what, when — never the token or its hash. */
export const apiTokenView = (token: ApiToken, now: Date) => ({
  id: token.id,
  userId: token.userId,
  username: token.user?.username ?? null,
  name: token.name,
  status: apiTokenStatus(token, now),
  createdAt: token.createdAt,
  lastUsedAt: token.lastUsedAt,
  expiresAt: token.expiresAt,
  revokedAt: token.revokedAt,
});
