import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureInstalled, REDIS_SERVER } from '../system/ensure-installed';

/**
 * The private redis-server of the embedded defaults: a unix socket in DATA_DIR, no persistence
 * (BullMQ jobs are re-created from the database outbox), stopped by its pid when Signoff stops.
 * A second Signoff process on the same DATA_DIR uses the running one instead of starting another;
 * a server left behind by a process that died is adopted and stopped in its turn.
 */
export class EmbeddedRedis {
  private supervisor?: NodeJS.Timeout;
  /** The supervisor's start of a new server, while under way. */
  private respawning?: Promise<void>;
  private stopped = false;

  private constructor(
    readonly socketPath: string,
    private pid: number | undefined,
    private readonly dataDir: string,
  ) {}

  get url(): string {
    return `unix://${this.socketPath}`;
  }

  private get pidFile(): string {
    return join(this.dataDir, 'redis.pid');
  }

  private get ownerFile(): string {
    return join(this.dataDir, 'redis.owner');
  }

  static async start(dataDir: string): Promise<EmbeddedRedis> {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    // A unix socket path must fit in 104-108 bytes: fall back to a short name in the temp dir.
    let socketPath = join(dataDir, 'redis.sock');
    if (socketPath.length > 100)
      socketPath = join(tmpdir(), `signoff-${createHash('sha256').update(dataDir).digest('hex').slice(0, 16)}.sock`);
    const redis = new EmbeddedRedis(socketPath, undefined, dataDir);

    if (await answersPing(socketPath)) {
      const owner = readNumber(redis.ownerFile);
      if (owner !== undefined && owner !== process.pid && isAlive(owner)) return redis;
      writeFileSync(redis.ownerFile, String(process.pid));
      redis.pid = readNumber(redis.pidFile);
      return redis;
    }

    // Not installed: install it when that needs nobody's answer (root or passwordless sudo with apt-get,
    // Homebrew), else stop with the one command to run (a MissingProgramError).
    await ensureInstalled(REDIS_SERVER);
    await redis.spawnServer();
    return redis;
  }

  private async spawnServer(): Promise<void> {
    rmSync(this.socketPath, { force: true });
    const child = spawn(
      'redis-server',
      [
        '--port',
        '0',
        '--unixsocket',
        this.socketPath,
        '--unixsocketperm',
        '700',
        '--save',
        '',
        '--appendonly',
        'no',
        '--daemonize',
        'no',
        '--pidfile',
        this.pidFile,
        '--logfile',
        join(this.dataDir, 'redis.log'),
        '--dir',
        this.dataDir,
      ],
      { detached: true, stdio: 'ignore' },
    ); // own process group: a Ctrl-C reaches Signoff, which stops Redis last
    child.unref();
    writeFileSync(this.ownerFile, String(process.pid));
    // Known at once, not once it answers: a stop meanwhile must find the server it is to stop.
    this.pid = child.pid;
    const deadline = Date.now() + 10_000;
    while (!(await answersPing(this.socketPath))) {
      if (child.exitCode !== null || Date.now() > deadline) {
        if (child.exitCode === null) child.kill('SIGKILL'); // hung: not left behind
        throw new Error(`the private redis-server did not start; see ${join(this.dataDir, 'redis.log')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /**
   * Keeps the private server running: every `everyMs` it must answer a ping; when it does not, and no
   * other live Signoff process owns it, it is started again, at once and then after 1, 2, 4 … 30 s
   * while it keeps failing. `log` hears of an outage once and of its end once. Queued work is not
   * lost with it: BullMQ jobs are re-created from the database outbox, and clients reconnect.
   */
  supervise(log: (level: 'info' | 'warn', event: { msg: string; error?: string }) => void, everyMs = 1000): void {
    let down = false;
    let waitUntil = 0;
    let backoffMs = 1000;
    let checking = false;
    let unanswered = 0;
    this.supervisor = setInterval(() => {
      if (checking || this.stopped || Date.now() < waitUntil) return;
      checking = true;
      void (async () => {
        try {
          if (await answersPing(this.socketPath)) {
            unanswered = 0;
            if (down) log('info', { msg: 'the private redis-server answers again' });
            down = false;
            backoffMs = 1000;
            return;
          }
          const owner = readNumber(this.ownerFile);
          if (owner !== undefined && owner !== process.pid && isAlive(owner)) return; // its owner restarts it
          if (this.stopped) return;
          // Still running but not answering (a loaded machine, or hung): no second server beside it,
          // which would leave the clients connected to it there. It gets UNANSWERED_CHECKS checks,
          // and is then stopped before another is started.
          const running = this.pid !== undefined && isAlive(this.pid) ? this.pid : undefined;
          if (running !== undefined && ++unanswered < UNANSWERED_CHECKS) return;
          if (!down) log('warn', { msg: 'the private redis-server stopped answering; starting it again' });
          down = true;
          if (running !== undefined) await killAndWait(running);
          if (this.stopped) return;
          unanswered = 0; // the new server gets its own checks
          this.respawning = this.spawnServer();
          await this.respawning;
        } catch (error) {
          waitUntil = Date.now() + backoffMs;
          backoffMs = Math.min(30_000, backoffMs * 2);
          log('warn', {
            msg: 'the private redis-server did not start again; trying later',
            error: (error as Error).message,
          });
        } finally {
          checking = false;
        }
      })();
    }, everyMs);
    this.supervisor.unref();
  }

  /**
   * Stops the server if this process owns it, and waits until it is gone; a server the supervisor is
   * starting again meanwhile is waited for, then stopped too.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.supervisor);
    await this.respawning?.catch(() => undefined);
    if (this.pid === undefined || readNumber(this.ownerFile) !== process.pid) return;
    try {
      process.kill(this.pid, 'SIGTERM');
    } catch {
      return;
    }
    const deadline = Date.now() + 5000;
    while (isAlive(this.pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    rmSync(this.ownerFile, { force: true });
  }
}

function readNumber(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const n = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/** A server that runs and does not answer is stopped after this many checks (see supervise). */
const UNANSWERED_CHECKS = 5;

/** SIGKILL, then waits (up to 5 s) until the process is gone. */
async function killAndWait(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  const deadline = Date.now() + 5000;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function answersPing(socketPath: string): Promise<boolean> {
  if (!existsSync(socketPath)) return Promise.resolve(false);
  return new Promise((resolve) => {
    const socket = createConnection(socketPath);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.on('error', () => done(false));
    socket.on('data', (data) => done(data.toString().startsWith('+PONG')));
    socket.write('PING\r\n');
  });
}
