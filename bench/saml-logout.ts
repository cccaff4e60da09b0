// Benchmarks of the SAML logout issue, each a ratio against a reference measured in the same run.
// 1. LogoutRequests built and signed per second, one after the other, as Signoff signs them
//    (logoutRequestXml + signXml: the canonical form computed from the tree, the RSA signature on
//    libuv's threads), beside bare xml-crypto signing the same, already built document with the same
//    settings (it writes, parses and canonicalizes the document, and signs on the calling thread).
// 2. Back-channel SOAP deliveries per second for one logout of SPS x SESSIONS SAML sessions to a fast
//    local SP, through the whole pipeline (outbox, relay, BullMQ, worker: claim, build, sign, POST,
//    read the LogoutResponse, record, settle). The ceiling: the same number of build + sign (as the
//    worker signs: signXml) + SOAP POSTs + reply checks to the same
//    SP with the same concurrency, and no queue or database.
//   npm run bench:saml-logout        (ITERATIONS=2000 SPS=50 SESSIONS=40 CONCURRENCY=32 to change it)
import {
  Clock,
  IdpSession,
  KeysService,
  LogoutOperation,
  SamlSession,
  selfSignedCertificate,
  SYSTEM,
  UsersService,
} from '@signoff/core';
import { HttpClient } from '@signoff/dispatch';
import { type DeliveryTarget, LogoutOperationsService, LogoutOrchestrator } from '@signoff/logout';
import {
  certificateBody,
  type LogoutRequestInput,
  logoutRequestXml,
  NAMEID_FORMATS,
  parseSpMetadata,
  RSA_SHA256,
  SamlLogoutProtocol,
  SamlSpsService,
  signXml,
  soapEnvelope,
  toXml,
  verifyEnveloped,
} from '@signoff/saml';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { SignedXml } from 'xml-crypto';
import { startApp } from '../test/support/test-app';
import { ensureRedis, runBench, soapSpMetadata, startSoapSp } from './support';
import { liveIdpSession, liveSamlSession } from '../test/support/seed';

const ITERATIONS = Number(process.env.ITERATIONS ?? 2000);
const WARM_UP = Math.ceil(ITERATIONS / 10);
const SPS = Number(process.env.SPS ?? 50);
const SESSIONS = Number(process.env.SESSIONS ?? 40);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 32);
const DELIVERIES = SPS * SESSIONS;

const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';
const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';

const rate = (count: number, seconds: number) =>
  `${(count / seconds).toFixed(0).padStart(7)} /s   (${seconds.toFixed(2)} s)`;

/** Seconds for `count` runs, one after the other (each awaited before the next starts). */
async function timed(count: number, run: () => unknown): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < count; i++) await run();
  return (performance.now() - started) / 1000;
}

/** The same request input the worker would give logoutRequestXml for one SAML session. */
function requestInput(destination: string, now: Date): LogoutRequestInput {
  return {
    idpEntityId: 'https://idp.bench/saml/metadata',
    destination,
    nameId: randomBytes(16).toString('hex'),
    nameIdFormat: NAMEID_FORMATS.persistent,
    nameQualifier: 'https://idp.bench/saml/metadata',
    spNameQualifier: 'https://sp.bench/metadata',
    sessionIndexes: [`_${randomBytes(16).toString('hex')}`],
    reason: 'admin',
    now,
  };
}

async function buildAndSign() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const certificate = await selfSignedCertificate(
    privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    publicKey.export({ type: 'spki', format: 'pem' }) as string,
    'idp.bench',
    1,
  );
  const body = certificateBody(certificate);
  const input = requestInput('https://sp.bench/slo', new Date());
  const built = logoutRequestXml(input);

  const signoff = async () => {
    const { id, message } = logoutRequestXml(input);
    return toXml(await signXml(message, id, privateKey, body));
  };
  // Same KeyInfo and same place (after Issuer, as the SAML schema requires) as signXml, so both
  // produce an equally valid message.
  const reference = () => {
    const signer = new SignedXml({
      privateKey: privateKey as never,
      signatureAlgorithm: RSA_SHA256,
      canonicalizationAlgorithm: EXC_C14N,
      getKeyInfoContent: () => `<ds:X509Data><ds:X509Certificate>${body}</ds:X509Certificate></ds:X509Data>`,
    });
    signer.addReference({
      xpath: `//*[@ID='${built.id}']`,
      transforms: [ENVELOPED, EXC_C14N],
      digestAlgorithm: SHA256,
    });
    signer.computeSignature(built.xml, {
      prefix: 'ds',
      location: { reference: `//*[@ID='${built.id}']/*[local-name(.)='Issuer']`, action: 'after' },
    });
    return signer.getSignedXml();
  };

  // A broken signature is cheaper to make than a good one: check both verify before timing them.
  verifyEnveloped(await signoff(), [certificate]);
  verifyEnveloped(reference(), [certificate]);
  await timed(WARM_UP, signoff);
  await timed(WARM_UP, reference);
  // Alternating quarters, so neither side alone pays for GC pauses or a CPU that changes speed.
  let referenceSeconds = 0;
  let signoffSeconds = 0;
  for (let round = 0; round < 4; round++) {
    referenceSeconds += await timed(ITERATIONS / 4, reference);
    signoffSeconds += await timed(ITERATIONS / 4, signoff);
  }

  console.log(
    `LogoutRequest build + sign, RSA-SHA256 2048, exc-c14n, ${ITERATIONS} iterations after ${WARM_UP} warm-up`,
  );
  console.log(`reference (bare xml-crypto SignedXml)     ${rate(ITERATIONS, referenceSeconds)}`);
  console.log(`signoff (logoutRequestXml + signXml)      ${rate(ITERATIONS, signoffSeconds)}`);
  console.log(`ratio (signoff / reference): ${(referenceSeconds / signoffSeconds).toFixed(3)}`);
}

async function soapDeliveries() {
  const sp = await startSoapSp();
  const t = await startApp({ LOG_LEVEL: 'silent', DELIVERY_CONCURRENCY: String(CONCURRENCY) }, { withWorker: true });
  const db = t.app.get(DataSource);
  const clock = t.app.get(Clock);
  const key = await t.app.get(KeysService).active('saml', 'RS256');
  const body = certificateBody(key.certificatePem!);
  const slo = (i: number) => `${sp.url}/sp${i}/soap`;

  // --- the ceiling: build + sign + SOAP POST + read the reply, CONCURRENCY at a time, with the same
  // HTTP client (undici, shared agent) and the same reply check the worker uses, so only the
  // pipeline is left out.
  const protocol = t.app.get(SamlLogoutProtocol);
  const http = t.app.get(HttpClient);
  let next = 0;
  const ceilingStart = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let n = next++; n < DELIVERIES; n = next++) {
        const destination = slo(n % SPS);
        const { id, message } = logoutRequestXml({
          ...requestInput(destination, clock.now()),
          idpEntityId: t.config.saml.entityId,
        });
        const request = {
          url: destination,
          body: soapEnvelope(toXml(await signXml(message, id, key.privateKey, body))),
          contentType: 'text/xml; charset=utf-8',
          messageId: id,
        };
        const reply = await http.post(request.url, request.body, request.contentType, t.config.delivery.timeoutMs);
        // The SOAP reply check reads no target (only a server-side POST answer is matched to its SP).
        const verdict = await protocol.readBackchannelReply(reply, request, {} as DeliveryTarget);
        if (!verdict.ok) throw new Error(`the SP answered ${reply.status}: ${verdict.error}`);
      }
    }),
  );
  const ceilingSeconds = (performance.now() - ceilingStart) / 1000;
  sp.takeSample();

  // --- the pipeline: SPS back-channel SOAP SPs, SESSIONS IdP sessions each with a SAML session at
  // every SP, then one admin logout that ends them all.
  const sps = t.app.get(SamlSpsService);
  const providerIds: string[] = [];
  for (let i = 0; i < SPS; i++)
    providerIds.push(
      (
        await sps.import(
          parseSpMetadata(soapSpMetadata(i, slo(i))),
          { logoutMethod: 'backchannel', slug: `sp${i}` },
          SYSTEM,
        )
      ).providerId,
    );
  const user = await t.app.get(UsersService).create({ username: 'bulk', password: 'bulk password' }, SYSTEM);
  const now = clock.now();
  const idpSessionIds: string[] = [];
  // Straight into the tables: issuing 2000 assertions through the SSO endpoint would dwarf the logout.
  await db.transaction(async (tx) => {
    for (let s = 0; s < SESSIONS; s++) {
      const idp = await tx.save(IdpSession, liveIdpSession(user.id, now));
      idpSessionIds.push(idp.id);
      await tx.insert(
        SamlSession,
        providerIds.map((providerId, i) =>
          liveSamlSession(
            { idpSessionId: idp.id, providerId, userId: user.id },
            { idp: t.config.saml.entityId, sp: `https://sp${i}.bench/metadata` },
            now,
          ),
        ),
      );
    }
  });

  const received = sp.received();
  const pipelineStart = performance.now();
  const operation = await t.app
    .get(LogoutOrchestrator)
    .endSessions({ trigger: 'admin_session', initiator: SYSTEM, reason: 'admin', idpSessionIds, withBrowser: false });
  const committed = performance.now();
  // Poll the operation row alone: loading every delivery while waiting would load the database the
  // worker is writing to, and slow the figure we measure.
  const operations = db.getRepository(LogoutOperation);
  while (!(await operations.findOneBy({ id: operation.id }))?.completedAt) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const pipelineSeconds = (performance.now() - pipelineStart) / 1000;
  const done = (await t.app.get(LogoutOperationsService).get(operation.id))!;
  const succeeded = done.deliveries.filter((delivery) => delivery.status === 'succeeded').length;
  const sent = sp.received() - received;
  // The SP does not check signatures; check here that the worker really sent a signed request.
  const sample = /<samlp:LogoutRequest[\s\S]*<\/samlp:LogoutRequest>/.exec(sp.takeSample())?.[0] ?? '';
  verifyEnveloped(sample, [key.certificatePem!]);

  const ceilingRate = DELIVERIES / ceilingSeconds;
  const pipelineRate = DELIVERIES / pipelineSeconds;
  console.log(
    `back-channel SOAP throughput, ${DELIVERIES} deliveries (${SPS} SPs x ${SESSIONS} IdP sessions), concurrency ${CONCURRENCY}, database ${t.config.database.type}`,
  );
  console.log(`ceiling (build + sign + undici SOAP POST) ${rate(DELIVERIES, ceilingSeconds)}`);
  console.log(
    `signoff (outbox -> BullMQ -> worker)      ${rate(DELIVERIES, pipelineSeconds)}, of which ${((committed - pipelineStart) / 1000).toFixed(2)} s to commit the logout`,
  );
  console.log(`ratio (signoff / ceiling): ${(pipelineRate / ceilingRate).toFixed(3)}`);
  console.log(`operation ${done.outcome}: ${succeeded}/${done.deliveries.length} succeeded; SP got ${sent}`);
  if (succeeded !== DELIVERIES || done.deliveries.length !== DELIVERIES) {
    const failure = done.deliveries.find((delivery) => delivery.status !== 'succeeded');
    throw new Error(
      `only ${succeeded} of ${DELIVERIES} deliveries succeeded${failure ? ` (e.g. ${failure.status}: ${failure.lastError})` : ''}`,
    );
  }
  await t.close();
}

async function main() {
  await buildAndSign();
  console.log();
  await ensureRedis();
  await soapDeliveries();
}

runBench(main);
