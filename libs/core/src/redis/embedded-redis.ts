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
  private constructor(
    readonly socketPath: string,
    private readonly pid: number | undefined,
    private readonly ownerFile: string,
  ) {}

  get url(): string {
    return `unix://${this.socketPath}`;
  }

  static async start(dataDir: string): Promise<EmbeddedRedis> {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    // A unix socket path must fit in 104-108 bytes: fall back to a short name in the temp dir.
    let socketPath = join(dataDir, 'redis.sock');
    if (socketPath.length > 100)
      socketPath = join(tmpdir(), `signoff-${createHash('sha256').update(dataDir).digest('hex').slice(0, 16)}.sock`);
    const pidFile = join(dataDir, 'redis.pid');
    const ownerFile = join(dataDir, 'redis.owner');

    if (await answersPing(socketPath)) {
      const owner = readNumber(ownerFile);
      if (owner !== undefined && owner !== process.pid && isAlive(owner))
        return new EmbeddedRedis(socketPath, undefined, ownerFile);
      writeFileSync(ownerFile, String(process.pid));
      return new EmbeddedRedis(socketPath, readNumber(pidFile), ownerFile);
    }

    // Not installed: install it when that needs nobody's answer (root or passwordless sudo with apt-get,
    // Homebrew), else stop with the one command to run (a MissingProgramError).
    await ensureInstalled(REDIS_SERVER);
    rmSync(socketPath, { force: true });
    const child = spawn(
      'redis-server',
      [
        '--port',
        '0',
        '--unixsocket',
        socketPath,
        '--unixsocketperm',
        '700',
        '--save',
        '',
        '--appendonly',
        'no',
        '--daemonize',
        'no',
        '--pidfile',
        pidFile,
        '--logfile',
        join(dataDir, 'redis.log'),
        '--dir',
        dataDir,
      ],
      { detached: true, stdio: 'ignore' },
    ); // own process group: a Ctrl-C reaches Signoff, which stops Redis last
    child.unref();
    writeFileSync(ownerFile, String(process.pid));
    const deadline = Date.now() + 10_000;
    while (!(await answersPing(socketPath))) {
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`the private redis-server did not start; see ${join(dataDir, 'redis.log')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    return new EmbeddedRedis(socketPath, child.pid, ownerFile);
  }

  /** Stops the server if this process owns it, and waits until it is gone. */
  async stop(): Promise<void> {
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
