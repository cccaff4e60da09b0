import type { Logger } from '@nestjs/common';

/** Errors of a connection to Redis that is away (refused, reset, timed out, closed). */
const CONNECTION_ERROR =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EPIPE|ENOTFOUND|EAI_AGAIN|Connection is closed/;

/**
 * Logs a BullMQ worker's `error` event. While Redis is away a worker emits one for every reconnect
 * (a 30 s outage made 68–136 warnings per worker process); RedisService reports the outage once and
 * its end once, so those are debug here. Anything else (a lock that could not be renewed, a job gone
 * from Redis) stays a warning.
 */
export function logWorkerError(logger: Logger, msg: string, error: Error): void {
  if (CONNECTION_ERROR.test(error.message)) logger.debug({ msg, error: error.message });
  else logger.warn({ msg, error: error.message });
}
