import type { Config } from '@signoff/core';
import { createServer, type Server, type ServerResponse } from 'node:http';

/**
 * Answers on the idp's port while the process starts, before the application can: a start waits for
 * an unreachable PostgreSQL (openDatabase), and meanwhile `/healthz` answers 200 (the process is up)
 * and `/readyz` (and every other path) 503 saying what is waited for and why, as the application's
 * own `/readyz` does. Closed right before the application listens on the same port. Not used with
 * PORT=0, whose port nobody could know.
 */
export class StartingServer {
  private reason = 'the process is starting';

  private constructor(private readonly server: Server) {}

  /** Listens on PORT, or resolves null when it cannot (the application then reports the port itself). */
  static listen(config: Config): Promise<StartingServer | null> {
    if (config.port === 0) return Promise.resolve(null);
    const starting = new StartingServer(createServer((req, res) => starting.answer(req.url ?? '/', res)));
    return new Promise((resolve) => {
      starting.server.once('error', () => resolve(null));
      starting.server.listen(config.port, config.host, () => resolve(starting));
    });
  }

  /** What the start waits for now (the database's last connection error). */
  waitingForDatabase(reason: string): void {
    this.reason = `waiting for it: ${reason}`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private answer(url: string, res: ServerResponse): void {
    const path = url.split('?')[0];
    const body =
      path === '/healthz'
        ? { status: 'ok' }
        : { status: 'unavailable', checks: { database: 'down' }, reasons: { database: this.reason } };
    res
      .writeHead(path === '/healthz' ? 200 : 503, {
        'content-type': 'application/json; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'close',
      })
      .end(JSON.stringify(body));
  }
}
