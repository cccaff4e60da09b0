import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import { Browser } from '../support/browser';
import { testDatabaseUrl } from '../support/databases';
import { builtWorkerArgs } from '../support/seed';

// The built program, started the way `npm start` and `npm run signoff` start it.
const root = join(__dirname, '..', '..');
const main = join(root, 'dist/apps/idp/src/main.js');
const cli = join(root, 'dist/apps/idp/src/cli.js');

beforeAll(() => {
  execFileSync(process.execPath, [join(root, 'scripts/build.mjs'), '--if-needed', '--quiet'], { cwd: root });
});

let dataDir: string;
let database: { url: string; drop: () => Promise<void> };
beforeEach(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'signoff-proc-'));
  database = await testDatabaseUrl(dataDir);
});
afterEach(async () => {
  await database.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const base = { ...process.env };
  delete base.REDIS_URL; // the embedded default: a private redis-server
  return { ...base, DATA_DIR: dataDir, DATABASE_URL: database.url, PORT: '0', LOG_LEVEL: 'info', ...extra };
}

/** Starts the server and resolves with its address once it logs that it listens. */
function start(
  extraEnv: Record<string, string> = {},
): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(process.execPath, [main, '--with-worker'], {
    env: env(extraEnv),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`did not start:\n${output}`)), 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk;
      const listening = /"listening":"(http:\/\/[^"]+)"/.exec(output);
      if (listening) {
        clearTimeout(timer);
        resolve({ child, url: listening[1], output: () => output });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`exited with ${code}:\n${output}`)));
  });
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('npm start on the embedded defaults', () => {
  it('starts a private Redis, is ready, lets a CLI-created user sign in, and stops Redis when stopped', async () => {
    const server = await start();
    try {
      const ready = await fetch(`${server.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: 'ok', checks: { database: 'ok', redis: 'ok' } });
      const redisPid = Number(readFileSync(join(dataDir, 'redis.pid'), 'utf8'));
      expect(alive(redisPid)).toBe(true);

      const created = spawnSync(process.execPath, [cli, 'create-user', 'newcomer', '--password', 'newcomer password'], {
        env: env(),
        encoding: 'utf8',
      });
      expect(created.stderr).toBe('');
      expect(created.stdout).toMatch(/^created user newcomer/);
      const browser = new Browser(server.url);
      expect((await browser.login('newcomer', 'newcomer password')).status).toBe(303);
      expect(await browser.signedInAs()).toBe('newcomer');

      expect(server.output()).toMatch(
        /"requestId":"[^"]+","msg":"request","method":"POST","path":"\/login","status":303/,
      );
      server.child.kill('SIGTERM');
      await exited(server.child);
      expect(alive(redisPid)).toBe(false);
      expect(existsSync(join(dataDir, 'cookie-secret'))).toBe(true);
    } finally {
      server.child.kill('SIGKILL');
    }
  });
});

describe('processes started side by side on a new database', () => {
  it('all start (two servers and a worker), and the signing keys are made once', async () => {
    // A Redis they share (the embedded default is one per DATA_DIR, started by each process).
    const shared = { REDIS_URL: process.env.REDIS_URL!, REDIS_PREFIX: `side${Date.now()}` };
    const worker = spawn(process.execPath, builtWorkerArgs(), {
      env: env(shared),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let workerOutput = '';
    const workerStarted = new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        workerOutput += chunk;
        if (workerOutput.includes('signoff worker started')) resolve();
      };
      worker.stdout!.on('data', onData);
      worker.stderr!.on('data', onData);
      worker.once('exit', (code) => reject(new Error(`the worker exited with ${code}:\n${workerOutput}`)));
    });
    const servers = await Promise.allSettled([start(shared), start(shared)]);
    try {
      await workerStarted;
      expect(servers.map((server) => (server.status === 'rejected' ? String(server.reason) : 'started'))).toEqual([
        'started',
        'started',
      ]);
      const url = (servers[0] as PromiseFulfilledResult<{ url: string }>).value.url;
      // One active and one next key for each OIDC algorithm, whoever made them: not two sets, none missing.
      const { keys } = (await (await fetch(`${url}/oauth2/jwks`)).json()) as {
        keys: Array<{ kid: string; alg: string }>;
      };
      expect(keys.map((key) => key.alg).sort()).toEqual(['ES256', 'ES256', 'RS256', 'RS256']);
    } finally {
      for (const server of servers) if (server.status === 'fulfilled') server.value.child.kill('SIGKILL');
      worker.kill('SIGKILL');
    }
  }, 40_000);
});

describe('graceful shutdown', () => {
  it('still stops when its Redis died first', async () => {
    const server = await start();
    try {
      const redisPid = Number(readFileSync(join(dataDir, 'redis.pid'), 'utf8'));
      process.kill(redisPid, 'SIGKILL');
      await new Promise((resolve) => setTimeout(resolve, 300));
      const started = Date.now();
      server.child.kill('SIGTERM');
      await exited(server.child);
      expect(Date.now() - started).toBeLessThan(12_000);
    } finally {
      server.child.kill('SIGKILL');
    }
  }, 30_000);

  it('stops at once, 0, and frees its port when told to while it waits for the database', async () => {
    const [dbPort, port] = [await freePort(), await freePort()];
    const child = spawn(process.execPath, [main, '--with-worker'], {
      env: env({
        DATABASE_URL: `postgres://postgres@127.0.0.1:${dbPort}/signoff`, // nothing listens there
        PORT: String(port),
        HOST: '127.0.0.1',
        REDIS_URL: process.env.REDIS_URL!,
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk));
    try {
      for (const until = Date.now() + 15_000; !/waiting for the database/.test(output);) {
        if (Date.now() > until || child.exitCode !== null) throw new Error(`did not wait:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200); // the starting server
      const started = Date.now();
      child.kill('SIGTERM');
      expect(await exited(child)).toBe(0);
      expect(Date.now() - started).toBeLessThan(3000); // not the 10 s exit deadline
      expect(output).toContain('stopped (SIGTERM) while waiting for the database');
      expect(await freePort(port)).toBe(port);
    } finally {
      child.kill('SIGKILL');
    }
  }, 30_000);
});

/** A port nothing listens on (or `port` itself, once it is free again). */
function freePort(port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const { port: free } = server.address() as AddressInfo;
      server.close(() => resolve(free));
    });
  });
}

describe('bad configuration', () => {
  it.each([
    [{ PORT: 'eighty' }, /PORT: must be a whole number/],
    [{ DATABASE_URL: 'mysql://db/signoff' }, /DATABASE_URL: must be postgres:\/\//],
    [{ SESSION_IDLE_TIMEOUT: 'soon' }, /SESSION_IDLE_TIMEOUT: must be a duration/],
    [{ PUBLIC_URL: 'ftp://idp.example' }, /PUBLIC_URL: must be an absolute http\(s\) URL/],
    [{ BOOTSTRAP_ADMIN_USERNAME: 'root' }, /set both or neither/],
  ])('refuses %j at start with a clear message and exit code 1', (extra, message) => {
    const result = spawnSync(process.execPath, [main], {
      env: env(extra as Record<string, string>),
      encoding: 'utf8',
      timeout: 15_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^signoff: invalid configuration:/);
    expect(result.stderr).toMatch(message);
    expect(existsSync(join(dataDir, 'signoff.sqlite'))).toBe(false);
  });

  it('says how to install Redis when redis-server is missing and REDIS_URL is not set', () => {
    const result = spawnSync(process.execPath, [main], {
      env: env({ PATH: join(dataDir, 'no-such-bin') }),
      encoding: 'utf8',
      timeout: 15_000,
    });
    expect(result.status).toBe(1);
    // No package manager on this PATH either: nothing it could install with, so it says what is missing and the way around it.
    expect(result.stderr).toMatch(/redis-server is not installed.*REDIS_URL=redis:\/\//s);
  });
});

describe('the CLI', () => {
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [cli, ...args], { env: env(), encoding: 'utf8', timeout: 30_000 });

  it('creates, lists and deactivates users, issues API tokens and rotates keys', () => {
    expect(
      run('create-user', 'ops', '--password', 'ops password', '--admin', '--email', 'ops@example.com').stdout,
    ).toMatch(/^created administrator ops/);
    expect(run('list-users').stdout).toMatch(/^ops\t[0-9a-f-]{36}\tops@example.com\tyes\tyes$/m);
    expect(run('create-api-token', 'ops').stdout).toMatch(/^so_[A-Za-z0-9_-]{43}\n$/);
    const rotated = run('rotate-keys').stdout;
    expect(rotated.split('\n').filter(Boolean)).toHaveLength(3);
    expect(rotated).toMatch(/^saml RS256: active \S+, next \S+$/m);
    // The last active administrator stays: nobody could sign in to the console or use the API after.
    const last = run('deactivate-user', 'ops');
    expect([last.status, last.stderr]).toEqual([1, expect.stringContaining('ops is the last active administrator')]);
    expect(run('create-user', 'ops2', '--password', 'ops2 password', '--admin').status).toBe(0);
    expect(run('deactivate-user', 'ops').stdout).toMatch(
      /^deactivated ops; ended 0 session\(s\); logout operation [0-9a-f-]{36}\n$/,
    );
    expect(run('list-users').stdout).toMatch(/^ops\t.*\tyes\tno$/m);
  });

  it('registers an OIDC client from a metadata file, and refuses invalid metadata with the RFC 7591 error', () => {
    const good = join(dataDir, 'client.json');
    writeFileSync(
      good,
      JSON.stringify({
        client_name: 'Wiki',
        redirect_uris: ['https://wiki.example/cb'],
        backchannel_logout_uri: 'https://wiki.example/bcl',
      }),
    );
    const created = run('create-oidc-client', '--json', good, '--slug', 'wiki');
    expect(created.stdout).toMatch(
      /^client_id=[A-Za-z0-9_-]{24}\nclient_secret=[A-Za-z0-9_-]{43}\nprovider=wiki \([0-9a-f-]{36}\)\n$/,
    );
    const bad = join(dataDir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ redirect_uris: ['https://wiki.example/cb#frag'] }));
    const refused = run('create-oidc-client', '--json', bad);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain('invalid_redirect_uri');
  });

  it('exits 2 with the usage for bad input and 1 for a failed command', () => {
    const unknown = run('frobnicate');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('usage: npm run signoff');
    expect(run('create-user', 'x', '--password', 'short').status).toBe(2);
    const missing = run('deactivate-user', 'nobody');
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('no user named "nobody"');
  });
});
