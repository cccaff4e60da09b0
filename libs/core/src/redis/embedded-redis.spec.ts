import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { EmbeddedRedis } from './embedded-redis';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The pid in `dir`'s pid file once a server other than `first` runs there (within 10 s). */
async function replacementOf(dir: string, first: number, failure: string): Promise<number> {
  const deadline = Date.now() + 10_000;
  let pid = first;
  while (pid === first || !alive(pid)) {
    if (Date.now() > deadline) throw new Error(failure);
    await new Promise((resolve) => setTimeout(resolve, 50));
    pid = Number(readFileSync(join(dir, 'redis.pid'), 'utf8'));
  }
  return pid;
}

describe('EmbeddedRedis', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'signoff-redis-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('starts a private server on a unix socket without persistence, and stops it by pid', async () => {
    const redis = await EmbeddedRedis.start(dir);
    const pid = Number(readFileSync(join(dir, 'redis.pid'), 'utf8'));
    const client = new Redis({ path: redis.socketPath });
    expect(await client.config('GET', 'save')).toEqual(['save', '']);
    expect(await client.config('GET', 'port')).toEqual(['port', '0']);
    client.disconnect();
    await redis.stop();
    expect(alive(pid)).toBe(false);
  });

  it('shares a server another live process owns, and adopts one whose owner died', async () => {
    const first = await EmbeddedRedis.start(dir);
    const pid = Number(readFileSync(join(dir, 'redis.pid'), 'utf8'));
    writeFileSync(join(dir, 'redis.owner'), String(process.ppid)); // as if a live sibling process had started it
    const shared = await EmbeddedRedis.start(dir);
    await shared.stop();
    expect(alive(pid)).toBe(true);

    writeFileSync(join(dir, 'redis.owner'), '999999'); // its owner is gone
    const adopted = await EmbeddedRedis.start(dir);
    await adopted.stop();
    expect(alive(pid)).toBe(false);
    await first.stop();
  });

  it('starts the server again when it dies, and says so once when it goes and once when it is back', async () => {
    const redis = await EmbeddedRedis.start(dir);
    const events: string[] = [];
    redis.supervise((level, event) => events.push(`${level}: ${event.msg}`), 50);
    const first = Number(readFileSync(join(dir, 'redis.pid'), 'utf8'));
    const client = new Redis({ path: redis.socketPath, maxRetriesPerRequest: null, retryStrategy: () => 50 });
    client.on('error', () => undefined);
    await client.set('before', '1');
    process.kill(first, 'SIGKILL');
    const second = await replacementOf(dir, first, 'the server was not started again');
    expect(await client.ping()).toBe('PONG'); // the client reconnected to the new server
    expect(await client.get('before')).toBeNull(); // no persistence: the outbox is the truth
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(events).toEqual([
      'warn: the private redis-server stopped answering; starting it again',
      'info: the private redis-server answers again',
    ]);
    client.disconnect();
    await redis.stop();
    expect(alive(second)).toBe(false);
  });

  it('starts no second server beside one that runs but does not answer, and replaces it after a few checks', async () => {
    const redis = await EmbeddedRedis.start(dir);
    const events: string[] = [];
    redis.supervise((level, event) => events.push(`${level}: ${event.msg}`), 50);
    const first = Number(readFileSync(join(dir, 'redis.pid'), 'utf8'));
    process.kill(first, 'SIGSTOP'); // running, not answering
    await new Promise((resolve) => setTimeout(resolve, 150)); // fewer checks than it waits for
    expect(Number(readFileSync(join(dir, 'redis.pid'), 'utf8'))).toBe(first);
    expect(events).toEqual([]);
    const second = await replacementOf(dir, first, 'the hung server was not replaced');
    expect(alive(first)).toBe(false); // stopped before the new one started
    await redis.stop();
    expect(alive(second)).toBe(false);
  });

  it('leaves no server behind when it is stopped while it starts one again', async () => {
    const redis = await EmbeddedRedis.start(dir);
    redis.supervise(() => undefined, 20);
    const owner = join(dir, 'redis.owner');
    const spawnedAt = statSync(owner).mtimeMs;
    process.kill(Number(readFileSync(join(dir, 'redis.pid'), 'utf8')), 'SIGKILL');
    // The supervisor has spawned a new server (it writes the owner file then) that may not answer yet.
    for (const deadline = Date.now() + 5000; statSync(owner).mtimeMs === spawnedAt;)
      if (Date.now() > deadline) throw new Error('the server was not started again');
      else await new Promise((resolve) => setImmediate(resolve));
    await redis.stop();
    await new Promise((resolve) => setTimeout(resolve, 300)); // whatever was still starting has started
    const pidFile = join(dir, 'redis.pid');
    const left = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : 0;
    expect(left && alive(left)).toBeFalsy();
  });
});
