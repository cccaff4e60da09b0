import type { LoggerService } from '@nestjs/common';
import type { LogLevel } from '../config/config';
import { requestContext } from './request-context';

const RANK: Record<LogLevel, number> = { silent: 0, error: 1, warn: 2, info: 3, debug: 4 };

/**
 * Nest's start-up chatter, a line per module, controller and route: debug, so that a process starts
 * with one line of its own ("signoff started", "signoff worker started") at info.
 */
const FRAMEWORK_CHATTER = new Set([
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
  'NestFactory',
  'NestApplication',
]);

/** One JSON object per line on stdout, with the request id of the request being served, if any. */
export class JsonLogger implements LoggerService {
  constructor(private readonly level: LogLevel = 'info') {}

  log(message: unknown, context?: string) {
    this.write(context && FRAMEWORK_CHATTER.has(context) ? 'debug' : 'info', message, context);
  }
  error(message: unknown, stackOrContext?: string, context?: string) {
    // Nest calls error(message, stack, context) or error(message, context).
    const stack = context === undefined ? undefined : stackOrContext;
    this.write('error', message, context ?? (stack ? undefined : stackOrContext), stack);
  }
  warn(message: unknown, context?: string) {
    this.write('warn', message, context);
  }
  debug(message: unknown, context?: string) {
    this.write('debug', message, context);
  }
  verbose(message: unknown, context?: string) {
    this.write('debug', message, context);
  }
  fatal(message: unknown, context?: string) {
    this.write('error', message, context);
  }

  private write(level: Exclude<LogLevel, 'silent'>, message: unknown, context?: string, stack?: string) {
    if (RANK[level] > RANK[this.level]) return;
    const fields =
      typeof message === 'object' && message !== null && !(message instanceof Error)
        ? (message as Record<string, unknown>)
        : { msg: message instanceof Error ? message.message : String(message) };
    const line = {
      time: new Date().toISOString(),
      level,
      ...(context ? { context } : {}),
      ...(requestContext.getStore() ? { requestId: requestContext.getStore()!.requestId } : {}),
      ...fields,
      ...(stack ? { stack } : message instanceof Error && message.stack ? { stack: message.stack } : {}),
    };
    process.stdout.write(`${JSON.stringify(line)}\n`);
  }
}
