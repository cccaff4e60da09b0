// Bulk deactivation (issue 13, P4): USERS users, each signed in to 5 OIDC applications with a
// back-channel logout URI and 5 SAML SPs with a SOAP SingleLogoutService, all deactivated through
// the admin API in one call (POST /api/v1/users/deactivate), or with EACH=1 in a burst of one call per
// user (POST /api/v1/users/:id/deactivate, BURST requests in flight). Printed:
// the time until every delivery is confirmed, deliveries/s, the ratio to the ceiling of the same mix
// (sign + POST for half, build + sign + SOAP POST + reply check for the other half, with the
// same concurrency and no queue or database), the request latencies, and the worker's peak RSS.
// The worker runs as its own process, started as `npm run start:worker` starts it (its node flags
// included: builtWorkerArgs), so its memory is its own.
//   npm run bench:bulk-deactivation   (USERS=1000 CONCURRENCY=32 WORKERS=1, EACH=1 BURST=16 to change it)
import {
  Clock,
  IdpSession,
  KeysService,
  LogoutDelivery,
  OidcSession,
  SamlSession,
  SYSTEM,
  User,
  UsersService,
} from '@signoff/core';
import { HttpClient } from '@signoff/dispatch';
import type { DeliveryTarget } from '@signoff/logout';
import {
  certificateBody,
  logoutRequestXml,
  NAMEID_FORMATS,
  parseSpMetadata,
  SamlLogoutProtocol,
  SamlSpsService,
  signXml,
  soapEnvelope,
  toXml,
} from '@signoff/saml';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { DataSource, In } from 'typeorm';
import { ApiTokensService } from '../apps/idp/src/admin/api-tokens.service';
import {
  backchannelClients,
  liveIdpSession,
  liveOidcSession,
  liveSamlSession,
  plainUser,
  startBuiltWorker,
} from '../test/support/seed';
import { startApp } from '../test/support/test-app';
import {
  ensureRedis,
  percentile,
  runBench,
  signAndPostLogoutToken,
  soapSpMetadata,
  startReceiver,
  startSoapSp,
} from './support';

const USERS = Number(process.env.USERS ?? 1000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 32);
const BURST = Number(process.env.BURST ?? 16);
const EACH = process.env.EACH === '1';
/** Worker processes (`npm run start:worker`), as an operator runs one per core. */
const WORKERS = Number(process.env.WORKERS ?? 1);
const OIDC_APPS = 5;
const SAML_APPS = 5;
const DELIVERIES = USERS * (OIDC_APPS + SAML_APPS);

/** The process's peak resident set (Linux: VmHWM), in MB. */
function peakRssMb(pid: number): number {
  const line = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return line ? Number(line[1]) / 1024 : NaN;
}

async function main() {
  await ensureRedis();
  const rp = await startReceiver(0);
  const sp = await startSoapSp();
  const t = await startApp({ LOG_LEVEL: 'silent', DELIVERY_CONCURRENCY: String(CONCURRENCY) });
  const db = t.app.get(DataSource);
  const clock = t.app.get(Clock);
  const keys = t.app.get(KeysService);
  const http = t.app.get(HttpClient);
  const samlKey = await keys.active('saml', 'RS256');
  const samlCertificate = certificateBody(samlKey.certificatePem!);
  const protocol = t.app.get(SamlLogoutProtocol);
  const soapUrl = (i: number) => `${sp.url}/sp${i}/soap`;

  // --- the ceiling of the same mix: every other delivery an OIDC logout token, the rest a SOAP
  // LogoutRequest, CONCURRENCY at a time, on the same HTTP client, no queue or database.
  let next = 0;
  const ceilingStart = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let n = next++; n < DELIVERIES; n = next++) {
        if (n % 2 === 0) {
          await signAndPostLogoutToken(keys, 'RS256', t.url, http, `${rp.url}/bcl`);
        } else {
          const destination = soapUrl(n % SAML_APPS);
          const { id, message } = logoutRequestXml({
            idpEntityId: t.config.saml.entityId,
            destination,
            nameId: randomBytes(16).toString('hex'),
            nameIdFormat: NAMEID_FORMATS.persistent,
            nameQualifier: t.config.saml.entityId,
            spNameQualifier: `https://sp${n % SAML_APPS}.bench/metadata`,
            sessionIndexes: [`_${randomBytes(16).toString('hex')}`],
            reason: 'admin',
            now: clock.now(),
          });
          const request = {
            url: destination,
            body: soapEnvelope(toXml(await signXml(message, id, samlKey.privateKey, samlCertificate))),
            contentType: 'text/xml; charset=utf-8',
            messageId: id,
          };
          const reply = await http.post(request.url, request.body, request.contentType, 5000);
          const verdict = await protocol.readBackchannelReply(reply, request, {} as DeliveryTarget);
          if (!verdict.ok) throw new Error(`the SP answered ${reply.status}: ${verdict.error}`);
        }
      }
    }),
  );
  const ceilingSeconds = (performance.now() - ceilingStart) / 1000;

  // --- the applications and USERS signed-in users, straight into the tables (signing in 1,000
  // users to 10 applications through the endpoints would dwarf what is measured).
  const oidcProviderIds = await backchannelClients(t.app, OIDC_APPS, (i) => `${rp.url}/bcl/${i}`);
  const sps = t.app.get(SamlSpsService);
  const samlProviderIds: string[] = [];
  for (let i = 0; i < SAML_APPS; i++) {
    const imported = await sps.import(
      parseSpMetadata(soapSpMetadata(i, soapUrl(i))),
      { logoutMethod: 'backchannel', slug: `sp${i}` },
      SYSTEM,
    );
    samlProviderIds.push(imported.providerId);
  }
  const admin = await t.app.get(UsersService).create({ username: 'admin', password: 'admin password' }, SYSTEM);
  await db.getRepository(User).update({ id: admin.id }, { isAdmin: true });
  const { token } = await t.app.get(ApiTokensService).create({ ...admin, isAdmin: true }, 'bench', null, SYSTEM);

  const now = clock.now();
  const userIds: string[] = [];
  await db.transaction(async (tx) => {
    for (let u = 0; u < USERS; u++) {
      const user = plainUser(`user${u}`, now);
      userIds.push(user.id);
      await tx.insert(User, user);
      const session = liveIdpSession(user.id, now);
      await tx.insert(IdpSession, session);
      const idpSessionId = session.id;
      await tx.insert(
        OidcSession,
        oidcProviderIds.map((providerId) => liveOidcSession({ idpSessionId, providerId, userId: user.id }, now)),
      );
      await tx.insert(
        SamlSession,
        samlProviderIds.map((providerId, i) =>
          liveSamlSession(
            { idpSessionId, providerId, userId: user.id },
            { idp: t.config.saml.entityId, sp: `https://sp${i}.bench/metadata` },
            now,
          ),
        ),
      );
    }
  });

  const workers = Array.from({ length: WORKERS }, () =>
    startBuiltWorker(t.config, { DELIVERY_CONCURRENCY: String(CONCURRENCY) }),
  );
  await Promise.all(workers.map((worker) => worker.started));
  const rpBefore = rp.received();
  const spBefore = sp.received();

  // --- the deactivation: in one call per 1,000 users (POST /api/v1/users/deactivate), or with
  // EACH=1 one call per user (POST /api/v1/users/:id/deactivate), BURST requests at a time.
  const latencies: number[] = [];
  const calls = EACH
    ? userIds.map((id) => ({ path: `/api/v1/users/${id}/deactivate`, body: undefined }))
    : Array.from({ length: Math.ceil(USERS / 1000) }, (_, i) => ({
        path: '/api/v1/users/deactivate',
        body: JSON.stringify({ ids: userIds.slice(i * 1000, (i + 1) * 1000) }),
      }));
  let nextCall = 0;
  const operationIds: string[] = [];
  const start = performance.now();
  await Promise.all(
    Array.from({ length: BURST }, async () => {
      for (let c = nextCall++; c < calls.length; c = nextCall++) {
        const sent = performance.now();
        const response = await fetch(`${t.url}${calls[c].path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: calls[c].body,
        });
        if (response.status !== 202)
          throw new Error(`deactivate answered ${response.status}: ${await response.text()}`);
        operationIds.push(((await response.json()) as { operationId: string }).operationId);
        latencies.push(performance.now() - sent);
      }
    }),
  );
  const answered = performance.now();

  // Every operation settled (each one once none of its deliveries is under way): its row polled, not
  // its deliveries, so that watching costs the database little (counting the 10,000 rows every 100 ms
  // took about 0.4 s of PostgreSQL's time per run). Whether each was confirmed is checked after.
  const placeholder = t.config.database.type === 'postgres' ? '$1' : '?';
  const open = async () =>
    Number(
      (
        (await db.query(
          `SELECT COUNT(*) AS n FROM logout_operations WHERE completed_at IS NULL AND id IN (SELECT value FROM ${
            t.config.database.type === 'postgres'
              ? `json_array_elements_text(CAST(${placeholder} AS json))`
              : `json_each(${placeholder})`
          })`,
          [JSON.stringify(operationIds)],
        )) as Array<{ n: string | number }>
      )[0].n,
    );
  const deadline = Date.now() + 300_000;
  while ((await open()) > 0) {
    if (Date.now() > deadline) throw new Error('not every delivery was confirmed within 5 minutes');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const seconds = (performance.now() - start) / 1000;
  const rss = workers.map(({ child }) => peakRssMb(child.pid!));
  for (const { child } of workers) child.kill('SIGTERM');
  const deliveries = db.getRepository(LogoutDelivery);
  const confirmed = await deliveries.countBy({
    providerId: In([...oidcProviderIds, ...samlProviderIds]),
    status: 'succeeded',
  });
  if (confirmed !== DELIVERIES) throw new Error(`${confirmed} of ${DELIVERIES} deliveries confirmed`);

  const ceilingRate = DELIVERIES / ceilingSeconds;
  const rate = DELIVERIES / seconds;
  console.log(
    `bulk deactivation: ${USERS} users x ${OIDC_APPS + SAML_APPS} applications (${OIDC_APPS} OIDC back-channel, ${SAML_APPS} SAML SOAP), ${EACH ? `one call per user, ${BURST} at a time` : 'one call'}, concurrency ${CONCURRENCY}, database ${t.config.database.type}`,
  );
  console.log(
    `ceiling (same mix: sign + POST)       ${ceilingRate.toFixed(0).padStart(7)} /s   (${ceilingSeconds.toFixed(2)} s)`,
  );
  console.log(
    `signoff (admin API -> worker)         ${rate.toFixed(0).padStart(7)} /s   (${seconds.toFixed(2)} s until all ${DELIVERIES} confirmed; requests answered after ${((answered - start) / 1000).toFixed(2)} s)`,
  );
  console.log(`ratio (signoff / ceiling): ${(rate / ceilingRate).toFixed(3)}`);
  console.log(
    `deactivate request${EACH ? 's' : ''}: p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms`,
  );
  console.log(
    `worker peak RSS: ${rss.map((mb) => `${mb.toFixed(0)} MB`).join(', ')} (${WORKERS} worker process${WORKERS > 1 ? 'es' : ''})`,
  );
  console.log(`RP got ${rp.received() - rpBefore}, SPs got ${sp.received() - spBefore}`);
  await t.close();
}

runBench(main);
