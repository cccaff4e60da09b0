import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { describeInChromium, launchChromium } from '../support/chromium';
import { testDatabaseUrl } from '../support/databases';
import { eventually } from '../support/eventually';
import { freePort } from '../support/test-app';

// `npm run demo`, as built and started by the npm script (node dist/apps/demo/src/main.js), driven in
// headless Chromium the way the README walks through it. Saves the README's screenshots.
const root = join(__dirname, '..', '..');
const demoMain = join(root, 'dist/apps/demo/src/main.js');
const SCREENSHOTS = join(root, 'docs', 'screenshots');

interface RunningDemo {
  child: ChildProcess;
  output: () => string;
  signoff: string;
  oidc: string;
  saml: string;
  password: string;
  adminPassword: string;
}

let dataDir: string;
let database: { url: string; drop: () => Promise<void> };
let ports: Record<'PORT' | 'DEMO_OIDC_PORT' | 'DEMO_SAML_PORT', string>;
let chromium: Browser;
const running = new Set<ChildProcess>();

/** Starts the demo and resolves once it has printed its three URLs and the credentials. */
function startDemo(env: NodeJS.ProcessEnv): Promise<RunningDemo> {
  const child = spawn(process.execPath, [demoMain], {
    cwd: root,
    env: { ...env, DATA_DIR: dataDir, DATABASE_URL: database.url, LOG_LEVEL: 'warn', ...ports },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the demo did not start:\n${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk;
      if (!output.includes('Stop with Ctrl-C.')) return;
      clearTimeout(timer);
      const find = (pattern: RegExp) => pattern.exec(output)?.[1] ?? '';
      resolve({
        child,
        output: () => output,
        signoff: find(/^ {2}Signoff +(http:\/\/\S+)/m),
        oidc: find(/^ {2}OIDC application +(http:\/\/\S+)/m),
        saml: find(/^ {2}SAML application +(http:\/\/\S+)/m),
        password: find(/demo \/ (\S+)/),
        adminPassword: find(/admin \/ ([^\s)]+)/),
      });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`the demo exited with ${code}:\n${output}`)));
  });
}

/** Stops the demo as Ctrl-C would (by its pid) and resolves with its exit code. */
async function stopDemo(demo: RunningDemo): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => demo.child.once('exit', (code) => resolve(code)));
  process.kill(demo.child.pid!, 'SIGTERM');
  const code = await exited;
  running.delete(demo.child);
  return code;
}

/**
 * redis-server processes serving a socket in the demo's data dir (its private Redis). Redis rewrites
 * its process title to "redis-server unixsocket:<path>", so that is what /proc shows.
 */
function redisServersOf(dir: string): number[] {
  const found: number[] = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const title = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0+/g, ' ');
      if (/redis-server/.test(title) && title.includes(`${dir}/`)) found.push(Number(pid));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

const statusOf = async (page: Page) => (await page.textContent('#status'))?.trim();
const shoot = (page: Page, name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });

describeInChromium('npm run demo', () => {
  beforeAll(async () => {
    execFileSync(process.execPath, [join(root, 'scripts/build.mjs'), '--if-needed', '--quiet'], { cwd: root });
    dataDir = mkdtempSync(join(tmpdir(), 'signoff-demo-'));
    database = await testDatabaseUrl(dataDir);
    ports = {
      PORT: String(await freePort()),
      DEMO_OIDC_PORT: String(await freePort()),
      DEMO_SAML_PORT: String(await freePort()),
    };
    mkdirSync(SCREENSHOTS, { recursive: true });
    chromium = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    // A demo still running (a test failed midway) stops as Ctrl-C stops it, taking its Signoff and
    // Redis with it; SIGKILL only if it does not within a few seconds (it would leave them behind).
    await Promise.all(
      [...running].map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }),
    );
    await chromium?.close();
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  let context: BrowserContext;
  let page: Page;
  let demo: RunningDemo;

  /** Signs in at the application whose page is open: its button, then Signoff's login page when it asks. */
  async function signIn(app: string, askedForPassword: boolean, screenshot?: string) {
    await page.goto(`${app}/`);
    expect(await statusOf(page)).toBe('Signed out');
    await page.click('#sign-in');
    if (askedForPassword) {
      await page.waitForURL(`${demo.signoff}/login**`);
      await page.fill('#username', 'demo');
      await page.fill('#password', demo.password);
      if (screenshot) await shoot(page, screenshot);
      await page.click('button[type=submit]');
    }
    await page.waitForSelector('#status.in', { timeout: 20_000 });
    expect(page.url()).toBe(`${app}/`);
  }

  it(
    'starts Signoff and both applications; a logout at either one signs the user out of the other ' +
      '(front channel to the SAML app, back channel to the OIDC app); stops on SIGTERM',
    async () => {
      // The test run's Redis (fast, as for every other suite), under a prefix of this test's own.
      demo = await startDemo({ ...process.env, REDIS_PREFIX: `t${randomBytes(6).toString('hex')}` });
      expect(demo.output()).toContain('registered Demo OIDC app (OIDC, back-channel logout)');
      expect(demo.output()).toContain('registered Demo SAML app (SAML, front-channel logout)');
      expect([demo.signoff, demo.oidc, demo.saml]).toEqual([
        `http://127.0.0.1:${ports.PORT}`,
        `http://127.0.0.1:${ports.DEMO_OIDC_PORT}`,
        `http://127.0.0.1:${ports.DEMO_SAML_PORT}`,
      ]);
      expect(demo.password).toMatch(/^[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}$/);

      context = await chromium.newContext({ viewport: { width: 900, height: 640 } });
      page = await context.newPage();

      // Round 1: sign in to both (the password once), log out at the OIDC app.
      await signIn(demo.oidc, true, 'demo-signoff-login');
      expect(await page.textContent('main')).toContain('demo@example.org');
      await shoot(page, 'demo-oidc-app');
      await signIn(demo.saml, false); // Signoff knows this browser now: no password
      expect(await page.textContent('h2')).toBe('Hello, demo@example.org');
      await shoot(page, 'demo-saml-app');
      // Three cookies on one host (127.0.0.1), one per server: none overwrites another.
      expect((await context.cookies()).map((cookie) => cookie.name).sort()).toEqual([
        'demo_oidc_app',
        'demo_saml_app',
        'signoff_browser',
      ]);

      await page.goto(`${demo.oidc}/`);
      // The SAML app's SingleLogoutService answers a little late here, only so that Signoff's logout
      // page, which waits for that answer, stays long enough for its picture.
      await context.route(`${demo.saml}/slo?**`, async (route) => {
        await new Promise((resolve) => setTimeout(resolve, 2000));
        await route.continue();
      });
      await page.click('#sign-out');
      await page.waitForURL(`${demo.signoff}/**`, { waitUntil: 'domcontentloaded' }); // not 'load': that waits for the iframes
      await shoot(page, 'demo-logout-page');
      await page.waitForSelector('#ended', { timeout: 30_000 }); // back at the application, after Signoff's logout page
      await context.unrouteAll();
      expect(page.url()).toBe(`${demo.oidc}/`);
      expect(await statusOf(page)).toBe('Signed out');
      await page.goto(`${demo.saml}/`);
      expect(await statusOf(page)).toBe('Signed out');
      // Ended by Signoff's verified LogoutRequest at its SingleLogoutService, in the browser.
      expect(await page.textContent('#ended')).toContain('its LogoutRequest came through your browser (front channel)');
      await shoot(page, 'demo-logout');

      // Round 2: sign in to both again, log out at the SAML app.
      await signIn(demo.oidc, true);
      await signIn(demo.saml, false);
      await page.click('#sign-out');
      await page.waitForSelector('#ended', { timeout: 30_000 });
      expect(page.url()).toBe(`${demo.saml}/`);
      expect(await statusOf(page)).toBe('Signed out');
      // The worker delivers the logout token a moment later: the OIDC app's page says so once it came.
      const told = await eventually(async () => {
        await page.goto(`${demo.oidc}/`);
        return (await statusOf(page)) === 'Signed out';
      });
      expect(told).toBe(true);
      expect(await page.textContent('#ended')).toContain('its logout token arrived by back channel');
      await shoot(page, 'demo-oidc-signed-out');
      await page.goto(`${demo.signoff}/`);
      expect(page.url()).toContain(`${demo.signoff}/login`); // and Signoff's own session is over too
      await context.close();

      expect(await stopDemo(demo)).toBe(0);
      for (const url of [demo.signoff, demo.oidc, demo.saml]) await expect(fetch(url)).rejects.toThrow(); // nothing listens any more
    },
    120_000,
  );

  it('a second run on the same data dir reuses the users and applications; on the embedded Redis, none is left behind', async () => {
    const first = demo;
    const env = { ...process.env };
    delete env.REDIS_URL; // the embedded default: the demo's Signoff starts (and stops) a private redis-server
    const again = await startDemo(env);
    try {
      expect(again.output()).toContain('reusing the users and applications of the last run');
      expect(again.output()).not.toMatch(/created|registered|updated/);
      expect([again.password, again.adminPassword]).toEqual([first.password, first.adminPassword]);
      expect(redisServersOf(dataDir)).toHaveLength(1);
      // The registrations still fit, and the client secret kept from the first run still works.
      demo = again;
      context = await chromium.newContext();
      page = await context.newPage();
      await signIn(again.oidc, true);
      await context.close();
    } finally {
      expect(await stopDemo(again)).toBe(0);
    }
    expect(redisServersOf(dataDir)).toEqual([]);
  }, 90_000);
  it("changes nothing in a database it did not set up: a user of the same name is someone else's", async () => {
    // Another data dir (no demo.json, so nothing on record as the demo's) over the same database,
    // which now has users named demo and admin: as when DATABASE_URL is left pointing at a real one.
    const otherDir = mkdtempSync(join(tmpdir(), 'signoff-demo-other-'));
    // The same key-encryption key, or Signoff's keys in that database would not open at all.
    copyFileSync(join(dataDir, 'key-encryption-key'), join(otherDir, 'key-encryption-key'));
    const child = spawn(process.execPath, [demoMain], {
      cwd: root,
      env: { ...process.env, DATA_DIR: otherDir, DATABASE_URL: database.url, LOG_LEVEL: 'warn', ...ports },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(child);
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    running.delete(child);
    rmSync(otherDir, { recursive: true, force: true });
    expect(code).toBe(1);
    expect(output).toContain('already has a user named demo that the demo did not make');
    expect(output).not.toContain('set a new password');
  }, 60_000);
});
