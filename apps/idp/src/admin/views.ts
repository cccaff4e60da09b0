import type { IdpSession, User } from '@signoff/core';

// What the API shows of each row. Password hashes and browser ids never leave the server.

export const userView = (user: User) => ({
  id: user.id, username: user.username, email: user.email, name: user.name, isActive: user.isActive, isAdmin: user.isAdmin,
  createdAt: user.createdAt, updatedAt: user.updatedAt, deactivatedAt: user.deactivatedAt,
});

export const sessionView = (session: IdpSession) => ({
  id: session.id, userId: session.userId, authTime: session.authTime, lastSeenAt: session.lastSeenAt, expiresAt: session.expiresAt,
  createdAt: session.createdAt, endedAt: session.endedAt, endReason: session.endReason, ip: session.ip, userAgent: session.userAgent,
});
