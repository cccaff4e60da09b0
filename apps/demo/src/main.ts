import 'reflect-metadata';
import { type Config, loadConfig } from '@signoff/core';
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, relative, resolve } from 'node:path';
import { OidcDemoApp } from './oidc-app';
import { SamlDemoApp } from './saml-app';
import { type DemoState, loadState, OIDC_DEMO, saveState, seed } from './seed';

// `npm run demo`: Signoff on the embedded defaults (its own DATA_DIR, ./data-demo unless set, so
// ./data is left alone), a sample OIDC application and a sample SAML application, registered with
// Signoff (one told of logouts by back channel, one by front channel), a user and an administrator.
// Signoff runs as `npm start` runs it, in a child process; the two applications run here. Ctrl-C or
// SIGTERM stops all three (Signoff stops its private Redis itself).
//
// Environment: DATA_DIR, PORT (Signoff; 3000), DEMO_OIDC_PORT (3001), DEMO_SAML_PORT (3002). A default
// port that is taken is replaced by a free one; a port that was asked for must be free. Every other
// variable (REDIS_URL, DATABASE_URL, LOG_LEVEL…) goes to Signoff as it is.

const IDP_MAIN = join(__dirname, '..', '..', 'idp', 'src', 'main.js');
const READY_WITHIN_MS = 60_000;
const STOP_WITHIN_MS = 15_000;

/** A port from `name` (0: any free one), else `fallback` if it is free, else any free one. */
async function choosePort(name: string, fallback: number): Promise<{ port: number; asked: boolean }> {
  const given = process.env[name];
  if (given === undefined || given === '') return { port: (await isFree(fallback)) ? fallback : 0, asked: false };
  const port = Number(given);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`${name} must be a port number (got ${given})`);
  return { port, asked: true };
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/** A port nobody listens on now (Signoff's issuer URL must be known before it starts). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Signoff's port: PORT if given (it must be free), else 3000, else a free one. */
async function signoffPort(): Promise<number> {
  const { port, asked } = await choosePort('PORT', 3000);
  if (port === 0) return freePort();
  if (asked && !(await isFree(port))) throw new Error(`PORT ${port} is taken: choose another, or leave PORT unset`);
  return port;
}

/** Listens for an application on its port: the one asked for, else its default, else a free one. */
async function listen<T>(name: string, fallback: number, start: (port: number) => Promise<T>): Promise<T> {
  const { port, asked } = await choosePort(name, fallback);
  try {
    return await start(port);
  } catch (error) {
    if (asked || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    return start(0);
  }
}

/** Resolves when Signoff's /readyz answers 200; rejects when the process ends first or takes too long. */
async function whenReady(url: string, child: ChildProcess, log: string): Promise<void> {
  const deadline = Date.now() + READY_WITHIN_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`Signoff stopped while starting (exit code ${child.exitCode ?? child.signalCode}); see ${log}`);
    const ready = await fetch(`${url}/readyz`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) return;
    await new Promise((done) => setTimeout(done, 200));
  }
  throw new Error(`Signoff was not ready within ${READY_WITHIN_MS / 1000} s; see ${log}`);
}

/** Signoff's SAML signing certificates, from its metadata (the active and the next one, as an SP pins them). */
async function idpCertificates(url: string): Promise<string[]> {
  const metadata = await (await fetch(`${url}/saml/metadata`)).text();
  const certificates = [...metadata.matchAll(/<ds:X509Certificate>([^<]+)</g)].map((match) => match[1].trim());
  if (!certificates.length) throw new Error('Signoff published no SAML certificate');
  return [...new Set(certificates)];
}

function banner(config: Config, oidc: OidcDemoApp, saml: SamlDemoApp, state: DemoState, shown: string): string {
  const { demo, admin } = state.passwords;
  return `
Signoff demo is running:

  Signoff            ${config.publicUrl}    (admin console: ${config.publicUrl}/admin)
  OIDC application   ${oidc.url}    openid-client; Signoff tells it of logouts by back channel
  SAML application   ${saml.url}    node-saml; Signoff tells it of logouts by front channel

Sign in with   demo / ${demo}        (administrator: admin / ${admin})

Sign in to both applications (Signoff asks for the password once), then sign out at either one:
the other one says you are signed out too. Data: ${shown} (Signoff's log: ${join(shown, 'signoff.log')}).
Stop with Ctrl-C.
`;
}

async function main(): Promise<void> {
  const dataDir = resolve(process.env.DATA_DIR || 'data-demo');
  const shown = relative(process.cwd(), dataDir).startsWith('..') ? dataDir : `./${relative(process.cwd(), dataDir)}`;
  if (!existsSync(IDP_MAIN))
    throw new Error(`${IDP_MAIN} is missing: start the demo with \`npm run demo\` (it builds first)`);
  const port = await signoffPort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATA_DIR: dataDir,
    PORT: String(port),
    HOST: '127.0.0.1', // the applications and the user's browser are on this machine
    PUBLIC_URL: `http://127.0.0.1:${port}`,
  };
  const config = loadConfig(env);
  const state = await loadState(dataDir);

  const oidc = await listen('DEMO_OIDC_PORT', 3001, (p) => OidcDemoApp.listen(p));
  const saml = await listen('DEMO_SAML_PORT', 3002, (p) => SamlDemoApp.listen(p, state.saml));
  let child: ChildProcess | undefined;
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('Stopping the demo…\n');
    await Promise.all([oidc.close(), saml.close()]);
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((done) => child!.once('exit', done));
      child.kill('SIGTERM'); // Signoff shuts down gracefully and stops its private Redis
      const timer = setTimeout(() => child!.kill('SIGKILL'), STOP_WITHIN_MS);
      await exited;
      clearTimeout(timer);
    }
    process.exit(code);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void stop(0));

  try {
    process.stdout.write(`Preparing the demo in ${shown}…\n`);
    const done = await seed(config, state, {
      oidc: OidcDemoApp.metadata(oidc.url, OIDC_DEMO.clientId),
      samlMetadata: saml.metadata(),
    });
    saveState(dataDir, state);
    process.stdout.write(
      done.length
        ? `${done.map((line) => `  ${line}`).join('\n')}\n`
        : '  reusing the users and applications of the last run\n',
    );

    const log = join(dataDir, 'signoff.log');
    const logFd = openSync(log, 'a');
    child = spawn(process.execPath, [IDP_MAIN, '--with-worker'], { env, stdio: ['ignore', logFd, 'inherit'] });
    closeSync(logFd);
    child.once('exit', (code, signal) => {
      if (stopping) return;
      process.stderr.write(
        `demo: Signoff stopped (${signal ?? `exit code ${code}`}); see ${join(shown, 'signoff.log')}\n`,
      );
      void stop(1);
    });
    await whenReady(config.publicUrl, child, join(shown, 'signoff.log'));
    await oidc.connect(config.publicUrl, OIDC_DEMO.clientId, state.oidc.clientSecret!);
    saml.connect(config.publicUrl, await idpCertificates(config.publicUrl));
  } catch (error) {
    process.stderr.write(`demo: ${error instanceof Error ? error.message : String(error)}\n`);
    return stop(1);
  }
  process.stdout.write(banner(config, oidc, saml, state, shown));
}

main().catch((error) => {
  process.stderr.write(`demo: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
