// Benchmark 2 of the OIDC issue: back-channel deliveries per second for one logout of 10,000 provider
// sessions (100 clients x 100 IdP sessions) to a fast local RP, through the whole pipeline: the
// outbox rows, the relay, BullMQ, the worker (claim, sign, POST, record) and the operation's close.
// The ceiling, measured in the same run: the same number of jose signatures of the same logout
// token shape and undici POSTs to the same RP, with the same concurrency, and no queue or database,
// after a warm-up, before and after the pipeline (averaged: the machine's speed drifts).
//   npm run bench:backchannel        (DELIVERIES=10000 CONCURRENCY=32 ALG=ES256 to change it)
import {
  Clock,
  IdpSession,
  KeysService,
  LogoutOperation,
  newId,
  OidcSession,
  SYSTEM,
  User,
  UsersService,
} from '@signoff/core';
import { HttpClient } from '@signoff/dispatch';
import { LogoutOperationsService, LogoutOrchestrator } from '@signoff/logout';
import { OidcClientsService, type OidcAlg } from '@signoff/oidc';
import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { startApp } from '../test/support/test-app';
import { ensureRedis, runBench, signAndPostLogoutToken, startReceiver } from './support';
import { liveIdpSession } from '../test/support/seed';

const DELIVERIES = Number(process.env.DELIVERIES ?? 10_000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 32);
const ALG = (process.env.ALG ?? 'ES256') as OidcAlg;
const CLIENTS = 100;

async function main() {
  await ensureRedis();
  const receiver = await startReceiver(0);
  const t = await startApp({ LOG_LEVEL: 'silent', DELIVERY_CONCURRENCY: String(CONCURRENCY) }, { withWorker: true });
  const db = t.app.get(DataSource);
  const keys = t.app.get(KeysService);
  const http = t.app.get(HttpClient); // the worker's own client, outbound policy included

  // --- the ceiling: sign + POST, CONCURRENCY at a time. Measured warm, before the pipeline and
  // again after it (the machine's speed drifts between runs more than the pipeline's does), and the
  // two averaged.
  const ceiling = async (count: number): Promise<number> => {
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next++ < count) {
          await signAndPostLogoutToken(keys, ALG, t.url, http, `${receiver.url}/bcl`);
        }
      }),
    );
    return (performance.now() - started) / 1000;
  };
  await ceiling(DELIVERIES); // warm-up: the JIT, and the heap grown to what the work needs
  const ceilingBefore = await ceiling(DELIVERIES);

  // --- the pipeline: 10,000 live provider sessions, then one logout that ends them all
  const user = await t.app.get(UsersService).create({ username: 'bulk', password: 'bulk password' }, SYSTEM);
  const clients = t.app.get(OidcClientsService);
  const providerIds: string[] = [];
  for (let i = 0; i < CLIENTS; i++) {
    const { client } = await clients.register(
      clients.parse({
        redirect_uris: ['http://127.0.0.1:9/cb'],
        backchannel_logout_uri: `${receiver.url}/bcl/${i}`,
        id_token_signed_response_alg: ALG,
      }),
      {},
      SYSTEM,
    );
    providerIds.push(client.providerId);
  }
  const now = t.app.get(Clock).now();
  const idpSessionIds: string[] = [];
  await db.transaction(async (tx) => {
    for (let s = 0; s < DELIVERIES / CLIENTS; s++) {
      const idp = await tx.save(IdpSession, liveIdpSession(user.id, now));
      idpSessionIds.push(idp.id);
      await tx.insert(
        OidcSession,
        providerIds.map((providerId) => ({
          id: newId(),
          kind: 'oidc',
          idpSessionId: idp.id,
          providerId,
          userId: user.id,
          sid: randomBytes(16).toString('base64url'),
          sub: user.id,
          createdAt: now,
          endedAt: null,
          state: 'active' as const,
        })),
      );
    }
  });
  void User;

  const received = receiver.received();
  const pipelineStart = performance.now();
  const operation = await t.app
    .get(LogoutOrchestrator)
    .endSessions({ trigger: 'api', initiator: SYSTEM, reason: 'admin', idpSessionIds, withBrowser: false });
  const committed = performance.now();
  let firstAt = 0;
  void (async () => {
    while (receiver.received() === received) await new Promise((resolve) => setImmediate(resolve));
    firstAt = performance.now();
  })();
  // Watch the operation's own row (not its 10,000 deliveries, whose reading would cost the pipeline).
  const operationRow = () => db.getRepository(LogoutOperation).findOneByOrFail({ id: operation.id });
  while (!(await operationRow()).completedAt) await new Promise((resolve) => setTimeout(resolve, 50));
  const pipelineSeconds = (performance.now() - pipelineStart) / 1000;
  const since = (at: number) => ((at - pipelineStart) / 1000).toFixed(2);
  const lastAt = receiver.lastAt();
  const done = (await t.app.get(LogoutOperationsService).get(operation.id))!;
  const succeeded = done.deliveries.filter((delivery) => delivery.status === 'succeeded').length;
  const delivered = receiver.received() - received;
  const ceilingAfter = await ceiling(DELIVERIES);
  const ceilingSeconds = (ceilingBefore + ceilingAfter) / 2;

  const ceilingRate = DELIVERIES / ceilingSeconds;
  const pipelineRate = DELIVERIES / pipelineSeconds;
  console.log(
    `back-channel throughput, ${DELIVERIES} deliveries, ${ALG}, concurrency ${CONCURRENCY}, database ${t.config.database.type}`,
  );
  console.log(
    `ceiling (jose sign + undici POST)   ${ceilingRate.toFixed(0).padStart(7)} /s   (${ceilingSeconds.toFixed(2)} s: ${ceilingBefore.toFixed(2)} s before, ${ceilingAfter.toFixed(2)} s after)`,
  );
  console.log(
    `signoff (outbox -> BullMQ -> worker) ${pipelineRate.toFixed(0).padStart(6)} /s   (${pipelineSeconds.toFixed(2)} s, of which ${((committed - pipelineStart) / 1000).toFixed(2)} s to commit the logout)`,
  );
  console.log(
    `  the first delivery arrived at ${since(firstAt)} s, the last at ${since(lastAt)} s, the operation was seen complete at ${pipelineSeconds.toFixed(2)} s`,
  );
  console.log(`ratio (signoff / ceiling): ${(pipelineRate / ceilingRate).toFixed(3)}`);
  console.log(`operation ${done.outcome}: ${succeeded}/${done.deliveries.length} succeeded; receiver got ${delivered}`);
  await t.close();
  await receiver.close();
}

runBench(main);
