// Benchmark 2 of the OIDC issue: back-channel deliveries per second for one logout of 10,000 provider
// sessions (100 clients x 100 IdP sessions) to a fast local RP, through the whole pipeline: the
// outbox rows (on PostgreSQL the first 250 in the logout's transaction, the others in pieces written
// as rows right after its commit: outbox-rows.ts, ROWS_AT_ONCE), the hand-out to BullMQ, the worker
// (claim, sign, POST, record) and the operation's close, timed from the logout's start.
// The ceiling, measured in the same run: the same number of signatures of the same logout token
// shape (signJwt, as the worker signs) and undici POSTs to the same RP, with the same concurrency,
// and no queue or database. The RP answers from this process, on the same main thread as both: with
// the RP in a process of its own the ceiling gains more than the pipeline and the ratio is lower
// (docs/operations.md, "What bounds bench:backchannel on PostgreSQL").
// This machine's speed drifts by a third from one second to the next (the same ceiling, run eight
// times in a row, took 2.5 to 3.6 s of CPU), so the run alternates: ceiling, logout, ceiling,
// logout, …, ceiling, after a warm-up of each. Each logout's ratio is against the mean of the
// ceilings just before and just after it; the run's ratio is the median of the rounds'. Each round
// also says how much CPU the process's main thread spent, for the logout (and, of that, while its
// transaction was written: mostly waiting for the database) and for the ceilings: both are bound by
// that thread (the signatures themselves are made on libuv's threads, in both); and how long that
// thread waited, runnable, for a core held by another thread or process (the database's server, the
// signing and garbage collecting threads), which its CPU time does not show.
//   npm run bench:backchannel        (DELIVERIES=10000 CONCURRENCY=32 ALG=ES256 ROUNDS=5 to change it)
import { Clock, IdpSession, KeysService, OidcSession, SYSTEM, UsersService } from '@signoff/core';
import { HttpClient } from '@signoff/dispatch';
import { LogoutOperationsService, LogoutOrchestrator } from '@signoff/logout';
import type { OidcAlg } from '@signoff/oidc';
import { DataSource } from 'typeorm';
import { startApp } from '../test/support/test-app';
import {
  ensureRedis,
  mainThreadCpuMs,
  mainThreadWaitMs,
  runBench,
  signAndPostLogoutToken,
  startReceiver,
} from './support';
import { backchannelClients, liveIdpSession, liveOidcSession } from '../test/support/seed';

const DELIVERIES = Number(process.env.DELIVERIES ?? 10_000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 32);
const ALG = (process.env.ALG ?? 'ES256') as OidcAlg;
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const CLIENTS = 100;

async function main() {
  await ensureRedis();
  const receiver = await startReceiver(0);
  const t = await startApp({ LOG_LEVEL: 'silent', DELIVERY_CONCURRENCY: String(CONCURRENCY) }, { withWorker: true });
  const db = t.app.get(DataSource);
  const keys = t.app.get(KeysService);
  const http = t.app.get(HttpClient); // the worker's own client, outbound policy included

  // --- the ceiling: sign + POST, CONCURRENCY at a time; its seconds, and the main thread's CPU seconds.
  const ceiling = async (): Promise<{ seconds: number; cpu: number; wait: number }> => {
    let next = 0;
    const cpu = mainThreadCpuMs();
    const wait = mainThreadWaitMs();
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next++ < DELIVERIES) {
          await signAndPostLogoutToken(keys, ALG, t.url, http, `${receiver.url}/bcl`);
        }
      }),
    );
    return {
      seconds: (performance.now() - started) / 1000,
      cpu: (mainThreadCpuMs() - cpu) / 1000,
      wait: (mainThreadWaitMs() - wait) / 1000,
    };
  };

  // --- the applications, once: CLIENTS OIDC clients with a back-channel logout URI each
  const user = await t.app.get(UsersService).create({ username: 'bulk', password: 'bulk password' }, SYSTEM);
  const providerIds = await backchannelClients(t.app, CLIENTS, (i) => `${receiver.url}/bcl/${i}`, {
    id_token_signed_response_alg: ALG,
  });

  /** DELIVERIES live provider sessions of the user (DELIVERIES / CLIENTS IdP sessions, each at every client). */
  const liveSessions = async (): Promise<string[]> => {
    const now = t.app.get(Clock).now();
    const idpSessionIds: string[] = [];
    await db.transaction(async (tx) => {
      for (let s = 0; s < DELIVERIES / CLIENTS; s++) {
        const idp = await tx.save(IdpSession, liveIdpSession(user.id, now));
        idpSessionIds.push(idp.id);
        await tx.insert(
          OidcSession,
          providerIds.map((providerId) => liveOidcSession({ idpSessionId: idp.id, providerId, userId: user.id }, now)),
        );
      }
    });
    return idpSessionIds;
  };

  /** One logout that ends them all, timed until its operation is complete. */
  const pipeline = async (idpSessionIds: string[]) => {
    const received = receiver.received();
    let firstAt = 0;
    void receiver.arrivalOf(received + 1).then((at) => (firstAt = at));
    const cpu = mainThreadCpuMs();
    const wait = mainThreadWaitMs();
    const started = performance.now();
    const operation = await t.app
      .get(LogoutOrchestrator)
      .endSessions({ trigger: 'api', initiator: SYSTEM, reason: 'admin', idpSessionIds, withBrowser: false });
    const committed = performance.now();
    const commitCpu = mainThreadCpuMs() - cpu;
    // Watch the operation's own row (not its 10,000 deliveries, whose reading would cost the pipeline),
    // often enough to see the end within 10 ms, cheaply (one raw read) so as not to slow what it times.
    const completedSql = `SELECT completed_at FROM logout_operations WHERE id = ${t.config.database.type === 'postgres' ? '$1' : '?'}`;
    const completed = async () =>
      ((await db.query(completedSql, [operation.id])) as Array<{ completed_at: unknown }>)[0];
    while ((await completed()).completed_at === null) await new Promise((resolve) => setTimeout(resolve, 10));
    const seconds = (performance.now() - started) / 1000;
    const cpuSeconds = (mainThreadCpuMs() - cpu) / 1000;
    const waitSeconds = (mainThreadWaitMs() - wait) / 1000;
    const lastAt = receiver.lastAt();
    const done = (await t.app.get(LogoutOperationsService).get(operation.id))!;
    const since = (at: number) => ((at - started) / 1000).toFixed(2);
    return {
      seconds,
      cpuSeconds,
      waitSeconds,
      commit: (committed - started) / 1000,
      commitCpuSeconds: commitCpu / 1000,
      timeline: `first delivery at ${since(firstAt)} s, last at ${since(lastAt)} s, complete at ${seconds.toFixed(2)} s`,
      outcome: `${done.outcome}: ${done.deliveries.filter((delivery) => delivery.status === 'succeeded').length}/${done.deliveries.length} succeeded, receiver got ${receiver.received() - received}`,
    };
  };

  // Warm-up, not counted: the JIT, and the heap grown to what the work needs, for both.
  await ceiling();
  await pipeline(await liveSessions());
  const ceilings = [await ceiling()];
  const rounds = [];
  for (let round = 0; round < ROUNDS; round++) {
    const result = await pipeline(await liveSessions());
    ceilings.push(await ceiling());
    const ceilingSeconds = (ceilings[round].seconds + ceilings[round + 1].seconds) / 2;
    const ceilingCpu = (ceilings[round].cpu + ceilings[round + 1].cpu) / 2;
    const ceilingWait = (ceilings[round].wait + ceilings[round + 1].wait) / 2;
    rounds.push({
      ...result,
      ceilingCpu,
      ceilingWait,
      ceilingRate: DELIVERIES / ceilingSeconds,
      rate: DELIVERIES / result.seconds,
    });
  }

  /** CPU seconds, or a dash where the platform does not say (mainThreadCpuMs reads Linux's /proc). */
  const cpuText = (value: number) => (Number.isFinite(value) ? `${value.toFixed(2)} s` : '-');
  console.log(
    `back-channel throughput, ${DELIVERIES} deliveries, ${ALG}, concurrency ${CONCURRENCY}, database ${t.config.database.type}, ${ROUNDS} rounds`,
  );
  rounds.forEach((round, index) =>
    console.log(
      `round ${index + 1}: signoff ${round.rate.toFixed(0)} /s (${round.seconds.toFixed(2)} s, ${round.commit.toFixed(2)} s to commit the logout, main thread's CPU ${cpuText(round.commitCpuSeconds)} of it; ${round.timeline}), ` +
        `ceiling ${round.ceilingRate.toFixed(0)} /s (sign + undici POST: ${ceilings[index].seconds.toFixed(2)} s before, ${ceilings[index + 1].seconds.toFixed(2)} s after), ` +
        `ratio ${(round.rate / round.ceilingRate).toFixed(3)}; main thread's CPU ${cpuText(round.cpuSeconds)} against ${cpuText(round.ceilingCpu)}, ` +
        `waiting for a core ${cpuText(round.waitSeconds)} against ${cpuText(round.ceilingWait)}; operation ${round.outcome}`,
    ),
  );
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  console.log(
    `signoff (outbox -> BullMQ -> worker), median ${median(rounds.map((round) => round.rate)).toFixed(0)} /s`,
  );
  console.log(`ceiling (sign + undici POST), median ${median(rounds.map((round) => round.ceilingRate)).toFixed(0)} /s`);
  console.log(
    `ratio (signoff / ceiling), median of the rounds: ${median(rounds.map((round) => round.rate / round.ceilingRate)).toFixed(3)}`,
  );
  await t.close();
  await receiver.close();
}

runBench(main);
