import { THREAD_STOPPED } from './sqlite-statement-thread';

/**
 * SQLSTATEs of a PostgreSQL that is away for now (PostgreSQL 15 appendix A): class 08, connection
 * exception; 57P01–57P03, an administrator's or a crash's shutdown and "cannot connect now" (starting
 * up); 53300, too many connections.
 */
const POSTGRES_AWAY = /^(08...|57P0[123]|53300)$/;

/** SQLite result codes of a database that is busy or cannot be written now (another process's lock, a full or failing disk). */
const SQLITE_AWAY = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN)/;

/** Node's socket errors, and pg's and pg-pool's words for a connection lost or never made (they carry no code). */
const NETWORK_AWAY =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EPIPE|ENOTFOUND|EAI_AGAIN|Connection terminated|terminating connection|timeout exceeded when trying to connect|Client has encountered a connection error|the database system is (starting up|shutting down)/i;

/**
 * Whether `error` says that the database is away for now (restarting, unreachable, locked by another
 * process) rather than that it refused what was asked (a constraint, a value it cannot take, a bug
 * here): the first is worth trying again shortly, the second would fail the same way again.
 */
export function isDatabaseAway(error: unknown): boolean {
  return whatTheDriverSaid(error).some(
    ({ code, message }) =>
      (typeof code === 'string' &&
        (POSTGRES_AWAY.test(code) ||
          SQLITE_AWAY.test(code) ||
          code === THREAD_STOPPED || // its statement's thread stopped: the next runs on the app's connection
          NETWORK_AWAY.test(code))) ||
      (typeof message === 'string' && NETWORK_AWAY.test(message)),
  );
}

/** PostgreSQL's unique_violation, and SQLite's UNIQUE and PRIMARY KEY constraint failures. */
const UNIQUE_VIOLATION = /^(23505|SQLITE_CONSTRAINT_UNIQUE|SQLITE_CONSTRAINT_PRIMARYKEY)$/;

/**
 * Whether `error` is the database refusing a row that another one already holds the key of: what a
 * request meets when another made the same change at the same moment, after both checked it was not
 * there (a name taken twice at once).
 */
export function isUniqueViolation(error: unknown): boolean {
  return whatTheDriverSaid(error).some(({ code }) => typeof code === 'string' && UNIQUE_VIOLATION.test(code));
}

/** The error and, when TypeORM wrapped it (QueryFailedError), the driver's own: the objects a code or message is read from. */
function whatTheDriverSaid(error: unknown): Array<{ code?: unknown; message?: unknown }> {
  const candidates = [error, (error as { driverError?: unknown } | null)?.driverError];
  return candidates.filter(
    (candidate): candidate is { code?: unknown; message?: unknown } =>
      candidate !== null && typeof candidate === 'object',
  );
}
