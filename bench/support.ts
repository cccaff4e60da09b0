import 'reflect-metadata';
import { EmbeddedRedis, type KeysService, newId, randomToken } from '@signoff/core';
import type { HttpClient } from '@signoff/dispatch';
import { type OidcAlg, signJwt } from '@signoff/oidc';
import { soapEnvelope } from '@signoff/saml';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What runBench stops at the end, whether the benchmark succeeded or not. */
const cleanups: Array<() => Promise<void>> = [];

/** A private Redis for the run unless REDIS_URL names one (the test harness reads REDIS_URL). */
export async function ensureRedis(): Promise<void> {
  if (process.env.REDIS_URL) return;
  const redis = await EmbeddedRedis.start(mkdtempSync(join(tmpdir(), 'signoff-bench-')));
  process.env.REDIS_URL = redis.url;
  cleanups.push(() => redis.stop());
}

/** An application's back-channel endpoint on 127.0.0.1 that answers every POST 200 after `delayMs`. */
export async function startReceiver(delayMs: number): Promise<{
  url: string;
  received: () => number;
  lastAt: () => number;
  arrivalOf: (count: number) => Promise<number>;
  close: () => Promise<void>;
}> {
  let received = 0;
  let lastAt = 0;
  const waiting: Array<{ count: number; arrived: (at: number) => void }> = [];
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received++;
      lastAt = performance.now();
      for (let i = waiting.length - 1; i >= 0; i--)
        if (waiting[i].count === received) waiting.splice(i, 1)[0].arrived(lastAt);
      const answer = () => res.writeHead(200, { 'cache-control': 'no-store' }).end();
      if (delayMs) setTimeout(answer, delayMs);
      else answer();
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received: () => received,
    /** When (performance.now()) the last request arrived. */
    lastAt: () => lastAt,
    /** When request number `count` (counted since the receiver started) arrives. */
    arrivalOf: (count) => new Promise((arrived) => waiting.push({ count, arrived })),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * The SPs' SOAP SingleLogoutService: answers each LogoutRequest with a Success LogoutResponse to its
 * ID, as fast as it can, so the figures are Signoff's and not the SP's.
 */
export async function startSoapSp(): Promise<{
  url: string;
  received: () => number;
  takeSample: () => string;
  close: () => Promise<void>;
}> {
  let received = 0;
  let sample = '';
  const server = createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => {
      received++;
      sample ||= text;
      const id = /<samlp:LogoutRequest\b[^>]*\sID="([^"]+)"/.exec(text)?.[1];
      if (!id) return void res.writeHead(400).end();
      res
        .writeHead(200, { 'content-type': 'text/xml; charset=utf-8' })
        .end(
          soapEnvelope(
            `<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r${randomBytes(10).toString('hex')}" Version="2.0" IssueInstant="${new Date().toISOString()}" InResponseTo="${id}">` +
              '<saml:Issuer>https://sp.bench/metadata</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status></samlp:LogoutResponse>',
          ),
        );
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received: () => received,
    /** The first request body since the last call, to check what was actually sent. */
    takeSample: () => {
      const taken = sample;
      sample = '';
      return taken;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Metadata of bench SP number `i`, whose only SingleLogoutService is SOAP at `slo`. */
export const soapSpMetadata = (i: number, slo: string) =>
  `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://sp${i}.bench/metadata">` +
  '<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">' +
  `<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:SOAP" Location="${slo}"/>` +
  `<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://sp${i}.bench/acs" index="0"/>` +
  '</md:SPSSODescriptor></md:EntityDescriptor>';

/**
 * The ceiling's claims are as long as a real session's (a registered client_id, a user's id as sub,
 * an issued sid), so that it signs, encodes and POSTs tokens of the size the worker sends.
 */
const LIKE_A_SESSION = { aud: randomToken(18), sub: newId(), sid: randomToken(16) };

/**
 * What a ceiling times for one OIDC back-channel delivery: a logout token of the worker's shape,
 * signed with `alg`, POSTed to `url` on the worker's HTTP client; throws unless answered 200.
 */
export async function signAndPostLogoutToken(
  keys: KeysService,
  alg: OidcAlg,
  issuer: string,
  http: HttpClient,
  url: string,
): Promise<void> {
  const iat = Math.floor(Date.now() / 1000);
  const token = await signJwt(
    keys,
    alg,
    {
      iss: issuer,
      aud: LIKE_A_SESSION.aud,
      iat,
      exp: iat + 120,
      jti: randomToken(16),
      sub: LIKE_A_SESSION.sub,
      sid: LIKE_A_SESSION.sid,
      events: { 'http://schemas.openid.net/event/backchannel-logout': {} },
    },
    'logout+jwt',
  );
  const reply = await http.post(
    url,
    new URLSearchParams({ logout_token: token }).toString(),
    'application/x-www-form-urlencoded',
    5000,
  );
  if (reply.status !== 200) throw new Error(`${url} answered ${reply.status}`);
}

export function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

export const ms = (value: number) => `${value.toFixed(1)} ms`;

/**
 * Runs a benchmark to the end and exits: its servers, queues and timers are not worth closing one by
 * one, but the private Redis is stopped either way.
 */
export function runBench(main: () => Promise<void>): void {
  main()
    .then(
      () => 0,
      (error) => {
        console.error(error);
        return 1;
      },
    )
    .then(async (code) => {
      for (const cleanup of cleanups) await cleanup().catch(() => undefined);
      process.exit(code);
    });
}

/**
 * CPU time the main thread has used so far, in ms (user and system), from Linux's /proc; NaN where
 * there is none. The process's own figure would add libuv's threads (RS256 signatures, scrypt) and the GC's.
 */
export function mainThreadCpuMs(): number {
  try {
    const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    // utime and stime (fields 14 and 15 of stat; 12 and 13 after the name), in clock ticks of 10 ms.
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

/**
 * Time the main thread has spent runnable but not running so far, in ms: waiting for a core that
 * another thread or process held (Linux's schedstat, its second field, in ns); NaN where there is none.
 * What the CPU time above does not show: on a busy machine the thread waits here for its turn.
 */
export function mainThreadWaitMs(): number {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[1]) / 1e6;
  } catch {
    return Number.NaN;
  }
}
