import {
  Inject,
  Injectable,
  Logger,
  Module,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config/config';
import { CONFIG } from '../config/config.tokens';
import { Metrics, metricsTokenMatches } from './metrics';

/**
 * A listener of its own for Prometheus, on METRICS_HOST:METRICS_PORT (127.0.0.1 unless told), started
 * only when METRICS_PORT is set: the worker has no other HTTP server, and the idp may keep `/metrics`
 * off its public port. It serves `GET /metrics` (asking for METRICS_TOKEN as a bearer token when that
 * is set) and `GET /healthz`, nothing else. One per process: `npm start --with-worker` has one.
 */
@Injectable()
export class MetricsListener implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(MetricsListener.name);
  private server?: Server;

  constructor(
    private readonly metrics: Metrics,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  /** Where it listens (`http://host:port`), or undefined when METRICS_PORT is unset. */
  get url(): string | undefined {
    const address = this.server?.address() as AddressInfo | null | undefined;
    return address ? `http://${this.config.metrics.host}:${address.port}` : undefined;
  }

  async onApplicationBootstrap(): Promise<void> {
    const { port, host } = this.config.metrics;
    if (port === undefined) return;
    const server = createServer((req, res) => void this.handle(req, res));
    // Scrapes are short: a connection nobody uses is not kept for long.
    server.keepAliveTimeout = 5000;
    server.headersTimeout = 5000;
    server.requestTimeout = 10_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error) => reject(new Error(`METRICS_PORT ${port} on ${host}: ${error.message}`)));
      server.listen(port, host, resolve);
    });
    server.on('error', (error) => this.logger.warn({ msg: 'metrics listener error', error: error.message }));
    this.server = server;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    const answer = (status: number, type: string, body: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store', ...headers });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (path !== '/metrics' && path !== '/healthz') return answer(404, 'text/plain; charset=utf-8', 'not found\n');
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return answer(405, 'text/plain; charset=utf-8', 'method not allowed\n', { Allow: 'GET, HEAD' });
    if (path === '/healthz') return answer(200, 'application/json; charset=utf-8', '{"status":"ok"}');
    const { token } = this.config.metrics;
    if (token && !metricsTokenMatches(token, req.headers.authorization))
      return answer(401, 'text/plain; charset=utf-8', 'send METRICS_TOKEN as a Bearer token\n', {
        'WWW-Authenticate': 'Bearer realm="metrics"',
      });
    try {
      const { contentType, body } = await this.metrics.exposition();
      answer(200, contentType, body);
    } catch (error) {
      this.logger.warn({ msg: 'metrics scrape failed', error: (error as Error).message });
      answer(500, 'text/plain; charset=utf-8', 'metrics unavailable\n');
    }
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

/**
 * The metrics listener (MetricsListener) of a process that serves: the idp and the worker import it
 * once each (the CLI does not, so a command run beside a server never binds its port). The Metrics
 * themselves come with CoreModule, so every lib can count.
 */
@Module({ providers: [MetricsListener], exports: [MetricsListener] })
export class MetricsModule {}
