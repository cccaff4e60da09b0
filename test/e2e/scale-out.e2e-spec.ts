// Issue 13, "Scale-out, tested" and "Faults, tested": two idp processes and two worker processes, each
// its own OS process as a deployment runs them, on one PostgreSQL and one Redis. The suite starts its
// own PostgreSQL cluster and its own redis-server (it restarts, kills and withholds them, which the
// servers other suites share must not suffer), and stops what it started by pid.
//
// Runs when DATABASE_URL is PostgreSQL (CI's second e2e run) or SIGNOFF_SCALE_OUT=1, as root (initdb
// runs as the postgres user through runuser) with PostgreSQL's binaries installed; skipped otherwise.
import { dataSourceOptions, IdpSession, loadConfig, newId, OidcSession } from '@signoff/core';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, createConnection, createServer as createTcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CookieAccessInfo } from 'cookiejar';
import * as client from 'openid-client';
import { DataSource } from 'typeorm';
import { Browser } from '../support/browser';
import { login, type TestClient } from '../support/relying-party';
import { builtWorkerArgs, liveIdpSession } from '../support/seed';

const root = join(__dirname, '..', '..');
const IDP_MAIN = join(root, 'dist/apps/idp/src/main.js');
const CLI = join(root, 'dist/apps/idp/src/cli.js');

/** Sizes and timings: the fan-out of the scale test, the fan-outs of the fault tests. */
const SCALE_DELIVERIES = 2000;
const FAULT_DELIVERIES = 1000;
const CLIENTS = 100;
const DELIVERY_TIMEOUT_MS = 1000;
const DELIVERY_ATTEMPTS = 4;
const RETRY_AFTER_S = 2;

// ------------------------------------------------------------------------------------------------
// Whether this machine can run the suite, and why not
// ------------------------------------------------------------------------------------------------

function postgresBin(): string | null {
  try {
    const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(a) - Number(b));
    const bin = versions.length ? `/usr/lib/postgresql/${versions[versions.length - 1]}/bin` : null;
    return bin && existsSync(`${bin}/initdb`) ? bin : null;
  } catch {
    return null;
  }
}

function skipReason(): string | null {
  const wanted = /^postgres(ql)?:/.test(process.env.DATABASE_URL ?? '') || process.env.SIGNOFF_SCALE_OUT === '1';
  if (!wanted) return 'runs on PostgreSQL only (DATABASE_URL=postgres://… or SIGNOFF_SCALE_OUT=1)';
  if (process.getuid?.() !== 0) return 'needs root, to run its private PostgreSQL cluster as the postgres user';
  if (!postgresBin()) return 'PostgreSQL binaries (initdb) are not installed under /usr/lib/postgresql';
  if (spawnSync('id', ['-u', 'postgres']).status !== 0) return 'there is no postgres user to run initdb as';
  if (spawnSync('redis-server', ['--version']).status !== 0) return 'redis-server is not installed';
  return null;
}

// ------------------------------------------------------------------------------------------------
// What the suite starts: a PostgreSQL cluster, a redis-server, the four Signoff processes
// ------------------------------------------------------------------------------------------------

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createTcpServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `probe` is truthy; throws naming `what` after `ms`. */
async function until<T>(what: string, probe: () => Promise<T> | T, ms: number, everyMs = 100): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  for (;;) {
    let failure = '';
    const value = await Promise.resolve(probe()).catch((error: Error) => void (failure = error.message));
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${ms} ms waiting for ${what}${failure ? ` (last error: ${failure})` : ''}`);
    await sleep(everyMs);
  }
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => (socket.destroy(), resolve(false)));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Runs a command to its end without blocking the event loop (the receivers must keep answering). */
function run(command: string, args: string[], ms = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}:\n${output}`));
    });
  });
}

/** A private PostgreSQL cluster in a temp dir, owned by the postgres user, fsync off, on its own port. */
class PgCluster {
  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly bin: string,
  ) {}

  static async start(): Promise<PgCluster> {
    const bin = postgresBin()!;
    const dir = mkdtempSync(join(tmpdir(), 'signoff-scale-pg-'));
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }));
    chownSync(dir, uid, gid);
    const cluster = new PgCluster(dir, await freePort(), bin);
    try {
      await cluster.pg('initdb', ['-D', `${dir}/data`, '-A', 'trust', '-U', 'postgres', '--no-sync']);
      await cluster.ctl('start');
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /** The postmaster's pid, from its pid file (read each time: a restart changes it). */
  get pid(): number | null {
    try {
      return Number(readFileSync(`${this.dir}/data/postmaster.pid`, 'utf8').split('\n')[0]);
    } catch {
      return null;
    }
  }

  restart(): Promise<string> {
    return this.ctl('restart', ['-m', 'fast']);
  }

  /** Fast shutdown (SIGINT) of the postmaster by its pid, then the temp dir goes. */
  async stop(): Promise<void> {
    const pid = this.pid;
    if (pid && alive(pid)) {
      process.kill(pid, 'SIGINT');
      await until('PostgreSQL to stop', () => !alive(pid), 20_000).catch(() => process.kill(pid, 'SIGKILL'));
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private ctl(action: string, extra: string[] = []): Promise<string> {
    const options = `-p ${this.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off -c max_connections=200`;
    return this.pg('pg_ctl', [
      '-D',
      `${this.dir}/data`,
      '-l',
      `${this.dir}/postgres.log`,
      '-w',
      '-t',
      '60',
      ...extra,
      '-o',
      options,
      action,
    ]);
  }

  private pg(program: string, args: string[]): Promise<string> {
    return run('runuser', ['-u', 'postgres', '--', `${this.bin}/${program}`, ...args]);
  }
}

/** A redis-server of our own on a TCP port, nothing persisted: a restart comes back empty. */
class RedisServer {
  child?: ChildProcess;
  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    this.child = child;
    await until(`redis-server on ${this.port}`, () => listening(this.port), 10_000, 20);
    return this;
  }

  /** SIGKILL by pid, and wait until it is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await gone;
  }
}

/** One Signoff process (idp or worker), its output kept for the test to read. */
class SignoffProcess {
  output = '';
  readonly child: ChildProcess;
  readonly started: Promise<void>;

  constructor(
    readonly name: string,
    /** node's arguments: its flags, the program, the program's arguments. */
    args: string[],
    env: NodeJS.ProcessEnv,
    readyLine: RegExp,
  ) {
    this.child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.started = new Promise((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        this.output += chunk;
        if (readyLine.test(this.output)) resolve();
      };
      this.child.stdout!.on('data', onData);
      this.child.stderr!.on('data', onData);
      this.child.once('exit', (code, signal) =>
        reject(new Error(`${name} exited (${code ?? signal}) before it started:\n${this.output.slice(-3000)}`)),
      );
    });
    this.started.catch(() => undefined);
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The JSON log lines it wrote since `from` (an offset into its output). */
  logs(from = 0): Array<Record<string, unknown>> {
    return this.output
      .slice(from)
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => {
        try {
          return JSON.parse(line) as Record<string, unknown>;
        } catch {
          return {};
        }
      });
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.running) return;
    const gone = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill(signal);
    await Promise.race([gone, sleep(15_000).then(() => this.child.kill('SIGKILL'))]);
  }
}

// ------------------------------------------------------------------------------------------------
// The applications: back-channel logout receivers that record every request
// ------------------------------------------------------------------------------------------------

type Behaviour = 'ok' | '500' | '429' | 'hang' | 'reset';

interface Arrival {
  at: number;
  /** The client_id the token is for, and the session it names. */
  aud: string;
  sid: string;
  jti: string;
  /** The worker process whose connection carried it (from /proc), or 0 when it could not be told. */
  pid: number;
  behaviour: Behaviour;
  /** When it was answered (or reset); undefined for a hang. */
  answeredAt?: number;
}

/**
 * One HTTP server for every application (`/bcl/<client index>`), as the bench's receiver is. It reads
 * the logout token's claims without verifying it (the other suites verify tokens; here what counts is
 * what arrived, and from which process) and answers as `behave` says for the n-th arrival of a session.
 */
class Receivers {
  readonly arrivals: Arrival[] = [];
  /** Decides the answer to a (sid, aud)'s `n`-th arrival (0-based). */
  behave: (key: string, n: number) => Behaviour = () => 'ok';
  delayMs = 0;
  /** Worker pids whose sockets the receiver attributes requests to. */
  workerPids: number[] = [];
  private readonly perKey = new Map<string, number>();
  private readonly socketPid = new WeakMap<Socket, number>();
  private readonly hanging = new Set<ServerResponse>();
  private server!: Server;
  port = 0;

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 30_000;
    // Which process opened the connection: the client socket's port, looked up in /proc.
    this.server.on('connection', (socket) => this.socketPid.set(socket, ownerOf(socket, this.workerPids)));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  url(index: number): string {
    return `http://127.0.0.1:${this.port}/bcl/${index}`;
  }

  reset(): void {
    this.arrivals.length = 0;
    this.perKey.clear();
    this.behave = () => 'ok';
    this.delayMs = 0;
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  /**
   * The worker that opened the socket: looked up when the connection came, and again at a request if
   * that lookup found nobody (under load /proc may not list the client's end yet when the server
   * accepts it; a kept-alive socket is still open at its requests), a few times over 200 ms.
   */
  private async pidOf(socket: Socket): Promise<number> {
    let pid = this.socketPid.get(socket) ?? 0;
    for (let tries = 0; !pid && socket.remotePort && tries < 10; tries++) {
      if (tries) await sleep(20);
      this.socketPid.set(socket, (pid = ownerOf(socket, this.workerPids)));
    }
    return pid;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body = '';
    for await (const chunk of req) body += chunk;
    const token = new URLSearchParams(body).get('logout_token') ?? '';
    let claims: { aud?: string | string[]; sid?: string; jti?: string } = {};
    try {
      claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
    } catch {
      // counted with an empty key: the assertions then fail on it
    }
    const aud = Array.isArray(claims.aud) ? claims.aud[0] : (claims.aud ?? '');
    const key = `${claims.sid}|${aud}`;
    const n = this.perKey.get(key) ?? 0;
    this.perKey.set(key, n + 1);
    const behaviour = this.behave(key, n);
    const arrival: Arrival = {
      at: Date.now(),
      aud,
      sid: claims.sid ?? '',
      jti: claims.jti ?? '',
      pid: await this.pidOf(req.socket),
      behaviour,
    };
    this.arrivals.push(arrival);
    if (behaviour === 'hang') {
      this.hanging.add(res);
      return;
    }
    if (behaviour === 'reset') {
      arrival.answeredAt = Date.now();
      req.socket.resetAndDestroy();
      return;
    }
    if (this.delayMs) await sleep(this.delayMs);
    arrival.answeredAt = Date.now();
    if (behaviour === '500') res.writeHead(500).end('down');
    else if (behaviour === '429') res.writeHead(429, { 'retry-after': String(RETRY_AFTER_S) }).end();
    else res.writeHead(200, { 'cache-control': 'no-store' }).end();
  }
}

/**
 * The pid of the process (of `pids`) that owns the client's end of `socket` (accepted by a receiver):
 * that end's inode from /proc/net/tcp, found among each process's file descriptors. 0 when none of
 * them owns it.
 */
function ownerOf(socket: Socket, pids: number[]): number {
  try {
    const hexPort = (port: number | undefined) => (port ?? 0).toString(16).toUpperCase().padStart(4, '0');
    // The client's end is the row whose local port is the socket's remote port AND whose remote port
    // is the receiver's: another process (a suite running beside this one) may hold the same local
    // port towards another destination. An earlier connection of the same pair may linger in
    // TIME_WAIT with inode 0, and come first.
    const local = `:${hexPort(socket.remotePort)}`;
    const remote = `:${hexPort(socket.localPort)}`;
    const line = readFileSync('/proc/net/tcp', 'utf8')
      .split('\n')
      .map((row) => row.trim().split(/\s+/))
      .find((fields) => fields[1]?.endsWith(local) && fields[2]?.endsWith(remote) && fields[9] && fields[9] !== '0');
    const inode = line?.[9];
    if (!inode) return 0;
    for (const pid of pids) {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        try {
          if (readlinkSync(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`) return pid;
        } catch {
          // the descriptor closed meanwhile
        }
      }
    }
  } catch {
    // a process gone, or no /proc: not told
  }
  return 0;
}

// ------------------------------------------------------------------------------------------------
// The suite
// ------------------------------------------------------------------------------------------------

const why = skipReason();
const suite = why ? describe.skip : describe;
if (why) process.stderr.write(`test/e2e/scale-out.e2e-spec.ts skipped: ${why}\n`);

suite(`scale-out and faults: 2 idp + 2 worker processes${why ? ` (skipped: ${why})` : ''}`, () => {
  let pg: PgCluster;
  let redis: RedisServer;
  let dataDir: string;
  let receivers: Receivers;
  let db: DataSource;
  let idpA: SignoffProcess;
  let idpB: SignoffProcess;
  let workers: SignoffProcess[] = [];
  let issuer: string;
  let idpBUrl: string;
  let apiToken: string;
  const others: SignoffProcess[] = [];
  const spareRedis: RedisServer[] = [];
  const summaries: string[] = [];

  const baseEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    PUBLIC_URL: issuer,
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    DATABASE_URL: pg.url,
    REDIS_URL: redis.url,
    REDIS_PREFIX: 'scale',
    DELIVERY_TIMEOUT: `${DELIVERY_TIMEOUT_MS}ms`,
    DELIVERY_ATTEMPTS: String(DELIVERY_ATTEMPTS),
    DELIVERY_CONCURRENCY: '16',
    // Jobs of 50: a fault fan-out (1,000) is 20 jobs, more than both workers run at once (4 each), so
    // some wait in Redis when it is killed, and the relay must hand their rows out again.
    DELIVERY_BATCH_SIZE: '50',
    LOG_LEVEL: 'info',
    ...extra,
  });

  const startIdp = (name: string, port: number, extra: Record<string, string> = {}) =>
    new SignoffProcess(name, [IDP_MAIN], baseEnv({ PORT: String(port), ...extra }), /"msg":"signoff started"/);
  const startWorker = (name: string, extra: Record<string, string> = {}) =>
    // As `npm run start:worker` starts it (its heap capped).
    new SignoffProcess(name, builtWorkerArgs(), baseEnv(extra), /signoff worker started/);

  async function api(base: string, method: string, path: string, body?: unknown) {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${apiToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return text ? (JSON.parse(text) as Record<string, unknown>) : {};
  }

  beforeAll(async () => {
    execFileSync(process.execPath, [join(root, 'scripts/build.mjs'), '--if-needed', '--quiet'], { cwd: root });
    // Each is kept as soon as it runs, so that afterAll stops it even if another failed to start.
    const started = await Promise.allSettled([
      PgCluster.start().then((cluster) => (pg = cluster)),
      freePort().then((port) => (redis = new RedisServer(port)).start()),
      (receivers = new Receivers()).start(),
    ]);
    for (const result of started) if (result.status === 'rejected') throw result.reason;
    dataDir = mkdtempSync(join(tmpdir(), 'signoff-scale-'));
    const [portA, portB] = [await freePort(), await freePort()];
    issuer = `http://127.0.0.1:${portA}`;
    idpBUrl = `http://127.0.0.1:${portB}`;
    // idp A first: it migrates the database and writes the shared secrets into DATA_DIR.
    idpA = startIdp('idp A', portA, {
      BOOTSTRAP_ADMIN_USERNAME: 'admin',
      BOOTSTRAP_ADMIN_PASSWORD: 'admin password 1',
    });
    await idpA.started;
    idpB = startIdp('idp B', portB);
    workers = [startWorker('worker 1'), startWorker('worker 2')];
    await Promise.all([idpB.started, ...workers.map((worker) => worker.started)]);
    receivers.workerPids = workers.map((worker) => worker.pid);
    apiToken = execFileSync(process.execPath, [CLI, 'create-api-token', 'admin'], {
      env: baseEnv(),
      encoding: 'utf8',
    }).trim();
    // The applications: CLIENTS OIDC clients, each with its back-channel logout URI at the receivers.
    for (let i = 0; i < CLIENTS; i++)
      await api(issuer, 'POST', '/api/v1/providers', {
        protocol: 'oidc',
        oidc: {
          client_id: `app-${i}`,
          redirect_uris: [`http://127.0.0.1:${receivers.port}/cb`],
          backchannel_logout_uri: receivers.url(i),
          backchannel_logout_session_required: true,
        },
      });
    db = await new DataSource(
      dataSourceOptions(loadConfig({ DATABASE_URL: pg.url, DATA_DIR: dataDir, PUBLIC_URL: issuer })),
    ).initialize();
  }, 120_000);

  afterAll(async () => {
    if (summaries.length) console.log(summaries.join('\n'));
    // SIGNOFF_SCALE_OUT_LOGS=<dir>: each process's output is kept there, to read after a failure.
    const keep = process.env.SIGNOFF_SCALE_OUT_LOGS;
    if (keep)
      for (const proc of [idpA, idpB, ...workers, ...others].filter(Boolean))
        writeFileSync(join(keep, `${proc.name.replace(/\W+/g, '-')}.log`), proc.output);
    await db?.destroy().catch(() => undefined);
    for (const proc of [idpA, idpB, ...workers, ...others]) await proc?.kill('SIGKILL');
    for (const spare of spareRedis) await spare.kill();
    await redis?.kill();
    await receivers?.stop();
    await pg?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  afterEach(() => receivers.reset());

  // --- helpers of the fan-out tests --------------------------------------------------------------

  /** A user with `count / CLIENTS` IdP sessions, each signed in at every client: `count` provider sessions. */
  async function userWithSessions(count: number): Promise<string> {
    const name = `bulk-${randomBytes(4).toString('hex')}`;
    const user = await api(issuer, 'POST', '/api/v1/users', { username: name, password: 'bulk password 1' });
    const userId = String(user.id);
    const providerIds = (
      await db.query(`SELECT provider_id FROM oidc_clients WHERE client_id LIKE 'app-%' ORDER BY client_id`)
    ).map((row: { provider_id: string }) => row.provider_id);
    expect(providerIds).toHaveLength(CLIENTS);
    const now = new Date();
    await db.transaction(async (tx) => {
      for (let s = 0; s < count / CLIENTS; s++) {
        const idp = await tx.save(IdpSession, liveIdpSession(userId, now));
        await tx.insert(
          OidcSession,
          providerIds.map((providerId: string) => ({
            id: newId(),
            kind: 'oidc',
            idpSessionId: idp.id,
            providerId,
            userId,
            sid: randomBytes(16).toString('base64url'),
            sub: userId,
            createdAt: now,
            endedAt: null,
            state: 'active' as const,
          })),
        );
      }
    });
    return userId;
  }

  interface Row {
    id: string;
    status: string;
    attempts: number;
    last_error: string | null;
    attempt_log: string;
    key: string;
  }

  const rowsOf = async (operationId: string): Promise<Row[]> =>
    (
      await db.query(
        `SELECT d.id, d.status, d.attempts, d.last_error, d.attempt_log, ps.sid || '|' || c.client_id AS key
           FROM logout_deliveries d
           JOIN provider_sessions ps ON ps.id = d.provider_session_id
           JOIN oidc_clients c ON c.provider_id = ps.provider_id
          WHERE d.operation_id = $1`,
        [operationId],
      )
    ).map((row: Row) => ({ ...row, attempts: Number(row.attempts) }));

  const countsOf = async (operationId: string): Promise<Record<string, number>> =>
    Object.fromEntries(
      (
        await db.query(
          `SELECT status, count(*) AS n FROM logout_deliveries WHERE operation_id = $1 GROUP BY status ORDER BY status`,
          [operationId],
        )
      ).map((row: { status: string; n: string }) => [row.status, Number(row.n)]),
    );

  /** Ends every session of the user through an idp's admin API: one logout operation, `count` deliveries. */
  async function fanOut(base: string, userId: string): Promise<{ operationId: string; startedAt: number }> {
    const startedAt = Date.now();
    const { operationId } = await api(base, 'DELETE', `/api/v1/users/${userId}/sessions`);
    return { operationId: String(operationId), startedAt };
  }

  /** Waits until no delivery of the operation is under way (the database can be briefly away). */
  async function settled(operationId: string, ms: number): Promise<Record<string, number>> {
    let counts: Record<string, number> = {};
    const done = () => !counts.pending && !counts.queued && !counts.sending && Object.keys(counts).length > 0;
    await until(
      `operation ${operationId} to settle`,
      async () => done() || ((counts = await countsOf(operationId)), done()),
      ms,
      250,
    ).catch((error: Error) => {
      throw new Error(`${error.message}; deliveries by status: ${JSON.stringify(counts)}`);
    });
    return counts;
  }

  /**
   * What every fan-out must show: every delivery final (succeeded, or dead/failed with a reason), the
   * row count the sessions call for, every success acknowledged at its receiver, and no message sent
   * without an attempt counted for it (arrivals of a session ≤ the row's attempts). Returns the
   * numbers of the summary.
   */
  async function checkNoneLost(operationId: string, expected: number) {
    const rows = await rowsOf(operationId);
    expect(rows).toHaveLength(expected);
    const byKey = new Map<string, Arrival[]>();
    for (const arrival of receivers.arrivals)
      byKey.set(`${arrival.sid}|${arrival.aud}`, [...(byKey.get(`${arrival.sid}|${arrival.aud}`) ?? []), arrival]);
    const unknown = [...byKey.keys()].filter((key) => !rows.some((row) => row.key === key));
    expect(unknown).toEqual([]);
    const problems: string[] = [];
    let duplicates = 0;
    const duplicateLines: string[] = [];
    for (const row of rows) {
      const arrivals = byKey.get(row.key) ?? [];
      const acknowledged = arrivals.filter((arrival) => arrival.behaviour === 'ok' && arrival.answeredAt);
      if (!['succeeded', 'dead', 'failed'].includes(row.status)) problems.push(`${row.id} is ${row.status}`);
      if (row.status !== 'succeeded' && !row.last_error) problems.push(`${row.id} is ${row.status} without a reason`);
      if (row.status === 'succeeded' && !acknowledged.length)
        problems.push(`${row.id} succeeded but its receiver never acknowledged it`);
      if (arrivals.length > row.attempts)
        problems.push(`${row.id}: ${arrivals.length} arrivals but ${row.attempts} attempts counted`);
      if (acknowledged.length > 1) {
        // Only after its lease (or its job's lock) ran out and the row was taken over: the attempt cut
        // short is in its log as interrupted.
        if (!row.attempt_log.includes('"interrupted:'))
          problems.push(`${row.id} arrived ${acknowledged.length} times but no attempt was interrupted`);
        duplicates += acknowledged.length - 1;
        duplicateLines.push(
          `  duplicate ${row.key}: ${acknowledged.length} acknowledged, attempts ${row.attempts}, jti ${acknowledged.map((a) => a.jti).join(' ')}`,
        );
      }
    }
    expect(problems.slice(0, 20)).toEqual([]);
    const jtis = receivers.arrivals.map((arrival) => arrival.jti);
    expect(new Set(jtis).size).toBe(jtis.length); // every attempt signs a fresh logout token
    return {
      rows,
      duplicates,
      duplicateLines,
      redeliveries: receivers.arrivals.length - byKey.size,
      counts: Object.fromEntries(
        ['succeeded', 'dead', 'failed'].map((status) => [status, rows.filter((row) => row.status === status).length]),
      ),
    };
  }

  function summary(name: string, startedAt: number, result: Awaited<ReturnType<typeof checkNoneLost>>, extra = '') {
    const line =
      `[scale-out] ${name}: ${result.rows.length} deliveries (${Object.entries(result.counts)
        .filter(([, n]) => n)
        .map(([status, n]) => `${n} ${status}`)
        .join(', ')}), ${receivers.arrivals.length} arrivals, ${result.redeliveries} redeliveries, ` +
      `${result.duplicates} duplicates, ${((Date.now() - startedAt) / 1000).toFixed(1)} s${extra ? `; ${extra}` : ''}`;
    summaries.push(line, ...result.duplicateLines.slice(0, 10));
  }

  /** Arrivals per worker process, for the summary: `worker 1: n, worker 2: m`. */
  const shares = () =>
    workers
      .map((worker) => `${worker.name}: ${receivers.arrivals.filter((arrival) => arrival.pid === worker.pid).length}`)
      .join(', ');

  // --- 1. the login and logout across processes ---------------------------------------------------

  it('signs in through idp A, logs out through idp B, and the application gets its logout token', async () => {
    const started = Date.now();
    const name = `alice-${randomBytes(3).toString('hex')}`;
    const user = await api(issuer, 'POST', '/api/v1/users', { username: name, password: 'alice password 1' });
    const created = await api(issuer, 'POST', '/api/v1/providers', {
      protocol: 'oidc',
      oidc: {
        client_id: 'wiki',
        redirect_uris: [`http://127.0.0.1:${receivers.port}/callback`],
        backchannel_logout_uri: `http://127.0.0.1:${receivers.port}/bcl/wiki`,
        backchannel_logout_session_required: true,
      },
    });
    const secret = String(created.clientSecret);
    const config = await client.discovery(new URL(issuer), 'wiki', {}, client.ClientSecretBasic(secret), {
      execute: [client.allowInsecureRequests],
    });
    const rp = {
      clientId: 'wiki',
      config,
      redirectUri: `http://127.0.0.1:${receivers.port}/callback`,
    } as unknown as TestClient;
    const browserA = new Browser(issuer);
    const { tokens } = await login(rp, browserA, { username: name, password: 'alice password 1' });
    const sid = String(tokens.claims()!.sid);
    expect(sid).toMatch(/\S{16,}/);

    // The same browser (its cookie) at idp B, another process on another port.
    const browserB = new Browser(idpBUrl);
    type Jar = {
      getCookies(access: unknown): Array<{ toValueString(): string }>;
      setCookie(c: string, d: string, p: string): void;
    };
    const jarOf = (browser: Browser) => (browser.agent as unknown as { jar: Jar }).jar;
    for (const cookie of jarOf(browserA).getCookies(CookieAccessInfo.All))
      jarOf(browserB).setCookie(cookie.toValueString(), '127.0.0.1', '/');
    expect(await browserB.signedInAs()).toBe(name);
    await browserB.get('/logout');
    await browserB.submit('/logout', { csrf: browserB.csrf });
    expect(await browserB.signedInAs()).toBeNull();

    const arrival = await until(
      'the logout token at the application',
      () => receivers.arrivals.find((a) => a.aud === 'wiki'),
      20_000,
    );
    expect(arrival).toMatchObject({ aud: 'wiki', sid });
    expect(workers.map((worker) => worker.pid)).toContain(arrival.pid);
    await until(
      'the delivery to be recorded',
      async () =>
        (
          await db.query(
            `SELECT d.status FROM logout_deliveries d JOIN logout_operation_users u ON u.operation_id = d.operation_id WHERE u.user_id = $1`,
            [user.id],
          )
        )[0]?.status === 'succeeded',
      10_000,
    );
    const line = `[scale-out] login at idp A, logout at idp B: token for sid ${sid.slice(0, 8)}… delivered by pid ${arrival.pid} in ${((arrival.at - started) / 1000).toFixed(1)} s after the test began`;
    summaries.push(line);
  }, 60_000);

  // --- 2. a 2,000-delivery fan-out shared by both workers -----------------------------------------

  it(`delivers a ${SCALE_DELIVERIES}-delivery fan-out through both workers, each doing part, none lost`, async () => {
    const userId = await userWithSessions(SCALE_DELIVERIES);
    const { operationId, startedAt } = await fanOut(idpBUrl, userId);
    const counts = await settled(operationId, 90_000);
    expect(counts).toEqual({ succeeded: SCALE_DELIVERIES });
    const result = await checkNoneLost(operationId, SCALE_DELIVERIES);
    for (const worker of workers)
      expect(receivers.arrivals.filter((arrival) => arrival.pid === worker.pid).length).toBeGreaterThan(0);
    expect(receivers.arrivals.filter((arrival) => arrival.pid === 0)).toHaveLength(0);
    summary('fan-out shared by two workers', startedAt, result, shares());
  }, 120_000);

  // --- 3. faults during a fan-out ---------------------------------------------------------------

  /** Every process the suite runs, by pid: none may have been restarted (or died) but `except`. */
  function expectStillRunning(pids: Map<SignoffProcess, number>, except?: SignoffProcess) {
    for (const [proc, pid] of pids) {
      if (proc === except) continue;
      expect({ name: proc.name, running: proc.running, pid: proc.pid }).toEqual({
        name: proc.name,
        running: true,
        pid,
      });
    }
  }
  const pidsNow = () =>
    new Map([idpA, idpB, ...workers].filter((proc) => proc.running).map((proc) => [proc, proc.pid]));

  /** Warn and error lines the workers wrote since `marks` (offsets into their output). */
  const complaints = (marks: number[]) =>
    workers
      .map((worker, index) => {
        const lines = worker.logs(marks[index]).filter((line) => line.level === 'warn' || line.level === 'error');
        return `${worker.name}: ${lines.length} warn/error lines`;
      })
      .join(', ');

  /**
   * A fan-out of FAULT_DELIVERIES with the receivers answering after `delayMs` (so that the fan-out
   * is still under way when the fault comes), `fault` run once `at` deliveries arrived.
   */
  async function faultRun(
    name: string,
    fault: () => Promise<string | void>,
    opts: { at?: number; settleMs?: number; except?: () => SignoffProcess } = {},
  ) {
    const pids = pidsNow();
    receivers.delayMs = 100;
    const userId = await userWithSessions(FAULT_DELIVERIES);
    const marks = workers.map((worker) => worker.output.length);
    const { operationId, startedAt } = await fanOut(idpA.running ? issuer : idpBUrl, userId);
    await until('the fan-out to be under way', () => receivers.arrivals.length >= (opts.at ?? 150), 30_000, 10);
    const arrivedBefore = receivers.arrivals.length;
    const note = await fault();
    const counts = await settled(operationId, opts.settleMs ?? 60_000);
    const result = await checkNoneLost(operationId, FAULT_DELIVERIES);
    expectStillRunning(pids, opts.except?.());
    summary(
      name,
      startedAt,
      result,
      `fault after ${arrivedBefore} arrivals; ${note ? `${note}; ` : ''}${complaints(marks)}`,
    );
    return { counts, result, operationId };
  }

  it('loses nothing when Redis is SIGKILLed mid fan-out and restarted empty 30 s later', async () => {
    const marks = workers.map((worker) => worker.output.length);
    const { counts } = await faultRun(
      'Redis SIGKILLed, back empty after 30 s',
      async () => {
        await redis.kill();
        await sleep(30_000);
        await redis.start();
        return `redis down 30 s, ${receivers.arrivals.length} arrivals by then`;
      },
      // Well under the relay's one-minute lease: the rows whose jobs Redis lost are handed out again
      // as soon as a relay sees the restarted server (a new run id), not when their lease ends.
      { settleMs: 25_000 },
    );
    expect(counts).toEqual({ succeeded: FAULT_DELIVERIES });
    const released = workers.flatMap((worker, index) =>
      worker.logs(marks[index]).filter((line) => /Redis restarted: deliveries it held/.test(String(line.msg))),
    );
    expect(released.length).toBeGreaterThan(0);
    // The outage is logged once and its end once per process, not per reconnect (it was 68–136 lines).
    workers.forEach((worker, index) => {
      const lines = worker.logs(marks[index]);
      expect(lines.filter((line) => /Redis at .* is unreachable/.test(String(line.msg)))).toHaveLength(1);
      expect(lines.filter((line) => /Redis at .* is reachable again/.test(String(line.msg)))).toHaveLength(1);
      expect(lines.filter((line) => line.level === 'warn' || line.level === 'error').length).toBeLessThan(40);
    });
  }, 200_000);

  it('loses nothing when PostgreSQL is restarted (pg_ctl restart -m fast) mid fan-out', async () => {
    const before = pg.pid;
    const { counts } = await faultRun('PostgreSQL restarted', async () => {
      const started = Date.now();
      await pg.restart();
      expect(pg.pid).not.toBe(before);
      return `restart took ${Date.now() - started} ms`;
    });
    expect(counts).toEqual({ succeeded: FAULT_DELIVERIES });
  }, 120_000);

  it('ends every delivery succeeded or dead when applications answer 500, 429, hang or reset, honouring Retry-After', async () => {
    // Per session, by a hash of its key: 2 in 10 always 500 (dead after DELIVERY_ATTEMPTS), 2 in 10 a 500
    // first, 2 in 10 a 429 with Retry-After first, 1 a hang past DELIVERY_TIMEOUT first, 1 a connection
    // reset first, 2 answered at once.
    const bucket = (key: string) => parseInt(createHash('sha256').update(key).digest('hex').slice(0, 8), 16) % 10;
    receivers.behave = (key, n) => {
      const b = bucket(key);
      if (b < 2) return '500';
      if (n > 0) return 'ok';
      return (['500', '500', '429', '429', 'hang', 'reset', 'ok', 'ok'] as const)[b - 2];
    };
    const pids = pidsNow();
    const userId = await userWithSessions(FAULT_DELIVERIES);
    const { operationId, startedAt } = await fanOut(idpBUrl, userId);
    const counts = await settled(operationId, 60_000);
    const result = await checkNoneLost(operationId, FAULT_DELIVERIES);
    const rows = await rowsOf(operationId);
    const alwaysFailing = rows.filter((row) => bucket(row.key) < 2);
    expect(counts).toEqual({ succeeded: FAULT_DELIVERIES - alwaysFailing.length, dead: alwaysFailing.length });
    for (const row of alwaysFailing)
      expect(row).toMatchObject({ status: 'dead', attempts: DELIVERY_ATTEMPTS, last_error: 'HTTP 500' });
    const lastErrors = new Set(rows.filter((row) => row.status === 'dead').map((row) => row.last_error));
    expect([...lastErrors]).toEqual(['HTTP 500']);
    // Retry-After honoured: a session answered 429 is not tried again before it says.
    const byKey = new Map<string, Arrival[]>();
    for (const arrival of receivers.arrivals)
      byKey.set(`${arrival.sid}|${arrival.aud}`, [...(byKey.get(`${arrival.sid}|${arrival.aud}`) ?? []), arrival]);
    const gaps: number[] = [];
    for (const arrivals of byKey.values())
      arrivals.forEach((arrival, i) => {
        if (arrival.behaviour === '429' && arrivals[i + 1]) gaps.push(arrivals[i + 1].at - arrival.answeredAt!);
      });
    expect(gaps.length).toBeGreaterThan(FAULT_DELIVERIES / 10);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(RETRY_AFTER_S * 1000);
    // Each kind of fault happened, and was tried again.
    for (const kind of ['500', '429', 'hang', 'reset'] as const)
      expect(receivers.arrivals.filter((arrival) => arrival.behaviour === kind).length).toBeGreaterThan(
        FAULT_DELIVERIES / 20,
      );
    expectStillRunning(pids);
    summary(
      'applications answering 500 / 429 / hang / reset',
      startedAt,
      result,
      `after a 429 the next attempt came ${(Math.min(...gaps) / 1000).toFixed(2)}–${(Math.max(...gaps) / 1000).toFixed(2)} s later (Retry-After ${RETRY_AFTER_S} s)`,
    );
  }, 120_000);

  it('loses nothing when one of the two workers is SIGKILLed mid fan-out and not restarted', async () => {
    const victim = workers[0];
    const { counts } = await faultRun(
      'one worker SIGKILLed',
      async () => {
        await victim.kill('SIGKILL');
        return `${victim.name} (pid ${victim.pid}) killed`;
      },
      { except: () => victim },
    );
    expect(counts).toEqual({ succeeded: FAULT_DELIVERIES });
    const survivor = workers[1];
    expect(survivor.running).toBe(true);
    // The survivor finished what the dead one held.
    expect(receivers.arrivals.filter((arrival) => arrival.pid === survivor.pid).length).toBeGreaterThan(
      FAULT_DELIVERIES / 2,
    );
  }, 120_000);

  // --- 4. starting while a dependency is away ---------------------------------------------------

  const readyz = async (base: string) => {
    const response = await fetch(`${base}/readyz`);
    return { status: response.status, body: (await response.json()) as Record<string, Record<string, string>> };
  };

  it('starts with an unreachable REDIS_URL: says so, /readyz 503 names Redis and why, ready once it is back', async () => {
    const redisPort = await freePort();
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env = { REDIS_URL: `redis://127.0.0.1:${redisPort}`, REDIS_PREFIX: 'no-redis' };
    const idp = startIdp('idp without Redis', port, env);
    const worker = startWorker('worker without Redis', env);
    others.push(idp, worker);
    await idp.started;
    const waiting = /Redis at redis:\/\/127\.0\.0\.1:\d+ is unreachable; waiting for it/;
    await until('the idp to say it waits for Redis', () => waiting.test(idp.output), 10_000);
    const down = await readyz(url);
    expect(down).toEqual({
      status: 503,
      body: {
        status: 'unavailable',
        checks: { database: 'ok', redis: 'down' },
        reasons: { redis: expect.stringContaining(`ECONNREFUSED 127.0.0.1:${redisPort}`) },
      },
    });
    // The worker's start waits for Redis (its schedulers live there), and says so rather than nothing.
    await until('the worker to say it waits for Redis', () => waiting.test(worker.output), 10_000);
    expect(worker.output).not.toContain('signoff worker started');

    const late = await new RedisServer(redisPort).start();
    spareRedis.push(late);
    await until('the idp to be ready', async () => (await readyz(url)).status === 200, 20_000, 250);
    await worker.started;
    const back = /Redis at redis:\/\/127\.0\.0\.1:\d+ is reachable again/;
    for (const proc of [idp, worker]) {
      // Said by the process's fail-fast connection, which retries on its own backoff (up to 2 s
      // apart): a worker whose queue connections reached Redis first has started before it says so.
      await until(`${proc.name} to say Redis is reachable again`, () => back.test(proc.output), 10_000);
      expect(proc.output.match(/is unreachable; waiting for it/g)).toHaveLength(1);
      expect(proc.running).toBe(true);
    }
    await Promise.all([idp.kill(), worker.kill()]);
    summaries.push(
      `[scale-out] start without Redis: /readyz said ${JSON.stringify(down.body.reasons)}; ready once it came back`,
    );
  }, 60_000);

  it('starts with an unreachable database: says so, /readyz 503 names the database and why, ready once it is back', async () => {
    const dbPort = await freePort();
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env = { DATABASE_URL: `postgres://postgres@127.0.0.1:${dbPort}/postgres`, REDIS_PREFIX: 'no-db' };
    const idp = startIdp('idp without database', port, env);
    const worker = startWorker('worker without database', env);
    others.push(idp, worker);
    const waiting = new RegExp(`waiting for the database at 127\\.0\\.0\\.1:${dbPort}`);
    await until('the idp to say it waits for the database', () => waiting.test(idp.output), 10_000);
    await until('the worker to say it waits for the database', () => waiting.test(worker.output), 10_000);
    const down = await until('/readyz to answer', () => readyz(url), 10_000);
    expect(down).toEqual({
      status: 503,
      body: {
        status: 'unavailable',
        checks: { database: 'down' },
        reasons: { database: expect.stringContaining(`ECONNREFUSED 127.0.0.1:${dbPort}`) },
      },
    });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);

    // The database comes back at that address: a TCP relay to the suite's PostgreSQL.
    const relay = createTcpServer((socket) => {
      const upstream = createConnection(pg.port, '127.0.0.1');
      socket.pipe(upstream).pipe(socket);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
    });
    await new Promise<void>((resolve) => relay.listen(dbPort, '127.0.0.1', resolve));
    try {
      await Promise.all([idp.started, worker.started]);
      await until('the idp to be ready', async () => (await readyz(url)).status === 200, 20_000, 250);
      for (const proc of [idp, worker]) {
        expect(proc.output).toContain('the database is reachable; starting');
        expect(proc.output.match(/waiting for the database/g)).toHaveLength(1);
      }
    } finally {
      await Promise.all([idp.kill(), worker.kill()]);
      await new Promise((resolve) => relay.close(resolve));
    }
    summaries.push(
      `[scale-out] start without the database: /readyz said ${JSON.stringify(down.body.reasons)}; ready once it came back`,
    );
  }, 60_000);
});
