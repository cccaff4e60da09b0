import { SYSTEM, type User, UsersService } from '@signoff/core';
import { createRemoteJWKSet, decodeProtectedHeader } from 'jose';
import request from 'supertest';
import { ApiTokensService } from '../../apps/idp/src/admin/api-tokens.service';
import { Browser } from '../support/browser';
import { eventually } from '../support/eventually';
import { login, registerClient, type TestClient } from '../support/relying-party';
import { samlSignIn } from '../support/saml';
import { SamlSpFarm } from '../support/saml-sps';
import {
  discover,
  EVENT,
  metadataProblems,
  POLL,
  PUSH,
  type ReceivedSet,
  SetVerifier,
  SsfPollClient,
  SsfPushReceiver,
  SsfStreamClient,
  type StreamConfiguration,
  type SubjectIdentifier,
  type TransmitterMetadata,
  waitFor,
} from '../support/ssf-receiver';
import { startApp, type TestApp } from '../support/test-app';

// Issue 14, "Tests and proof": Signoff as an OpenID Shared Signals transmitter, checked by a receiver
// written from the specs (test/support/ssf-receiver.ts: SSF 1.0, CAEP 1.0, RISC 1.0, RFC 8417, 8935,
// 8936, 9493), never from Signoff's code. The contract the transmitter offers is notes/ssf-design.md:
// receivers are registered by an administrator (admin API) and manage their one stream with their own
// bearer token; every event to every stream is a delivery of the logout engine, pushed by the worker or
// kept for polling, and shown on the logout operation beside the OIDC and SAML deliveries.

const PASSWORD = 'a user password long enough';
const CAEP_EVENTS = [EVENT.sessionRevoked, EVENT.credentialChange, EVENT.accountDisabled, EVENT.accountEnabled];
/** Long enough for a delivery that should not come to have come (the worker delivers within ~100 ms). */
const QUIET_MS = 1000;

let t: TestApp;
let adminToken: string;
let revokerToken: string;
let metadata: TransmitterMetadata;
let counter = 0;
const pushReceivers: SsfPushReceiver[] = [];

beforeAll(async () => {
  t = await startApp(
    { BOOTSTRAP_ADMIN_USERNAME: 'root', BOOTSTRAP_ADMIN_PASSWORD: 'root password long enough' },
    { withWorker: true },
  );
  const root = (await t.app.get(UsersService).findByUsername('root'))!;
  const tokens = t.app.get(ApiTokensService);
  adminToken = (await tokens.create(root, 'admin', null, SYSTEM)).token;
  revokerToken = (await tokens.create(root, 'security tool', null, SYSTEM, null, ['global_token_revocation'])).token;
  metadata = await discover(t.url);
});
afterAll(async () => {
  for (const receiver of pushReceivers) await receiver.stop();
  await t?.close();
});

const api = () => request(t.url);
const auth = () => ({ Authorization: `Bearer ${adminToken}` });

// ---------------------------------------------------------------------------------------------------
// Receivers, streams, users

/** A receiver the administrator registered, with the receiver-side tools bound to it. */
interface Registered {
  id: string;
  slug: string;
  audience: string;
  token: string;
  streams: SsfStreamClient;
  verifier: SetVerifier;
}
interface PushSetup extends Registered {
  receiver: SsfPushReceiver;
  stream: StreamConfiguration;
  authorizationHeader: string | null;
}
interface PollSetup extends Registered {
  poller: SsfPollClient;
  stream: StreamConfiguration;
}

/** POST /api/v1/ssf/receivers (the contract): 201 with the view and the bearer token, shown once. */
async function register(name: string, options: { subjectFormat?: 'iss_sub' | 'email' } = {}): Promise<Registered> {
  const slug = `${name}-${++counter}`;
  const created = await api()
    .post('/api/v1/ssf/receivers')
    .set(auth())
    .send({ name: `${name} ${counter}`, slug, ...options });
  if (created.status !== 201) throw new Error(`register ${slug}: ${created.status} ${created.text}`);
  const { receiver, token } = created.body as {
    receiver: { id: string; slug: string; audience: string };
    token: string;
  };
  return {
    id: receiver.id,
    slug: receiver.slug,
    audience: receiver.audience,
    token,
    streams: new SsfStreamClient(metadata, token, receiver.audience),
    verifier: new SetVerifier({ metadata, audience: receiver.audience, now: () => t.clock.now() }),
  };
}

/** A registered receiver with a push stream to a fresh RFC 8935 endpoint. */
async function pushStream(
  name: string,
  options: {
    authorizationHeader?: string | null;
    eventsRequested?: string[];
    subjectFormat?: 'iss_sub' | 'email';
  } = {},
): Promise<PushSetup> {
  const registered = await register(name, { subjectFormat: options.subjectFormat });
  const authorizationHeader =
    options.authorizationHeader === undefined ? `Bearer push-secret-${counter}` : options.authorizationHeader;
  const receiver = await SsfPushReceiver.start({ verifier: registered.verifier, authorizationHeader });
  pushReceivers.push(receiver);
  const stream = await registered.streams.create({
    delivery: {
      method: PUSH,
      endpoint_url: receiver.url,
      ...(authorizationHeader === null ? {} : { authorization_header: authorizationHeader }),
    },
    events_requested: options.eventsRequested ?? CAEP_EVENTS,
    description: `${name} push`,
  });
  registered.verifier.bindStream(stream);
  return { ...registered, receiver, stream, authorizationHeader };
}

/** A registered receiver with a poll stream (SSF §8.1.1.1: no `delivery` means poll). */
async function pollStream(
  name: string,
  options: { eventsRequested?: string[]; subjectFormat?: 'iss_sub' | 'email' } = {},
): Promise<PollSetup> {
  const registered = await register(name, { subjectFormat: options.subjectFormat });
  const stream = await registered.streams.create({
    events_requested: options.eventsRequested ?? CAEP_EVENTS,
    description: `${name} poll`,
  });
  registered.verifier.bindStream(stream);
  const poller = new SsfPollClient(registered.verifier, stream.delivery.endpoint_url!, registered.token);
  return { ...registered, poller, stream };
}

/** Deletes the streams a describe made, so that later logouts (default_subjects ALL) do not reach them. */
async function retire(...setups: Array<PushSetup | PollSetup | undefined>) {
  for (const setup of setups) {
    if (!setup) continue;
    const answer = await setup.streams.request('DELETE', 'configuration_endpoint', {
      query: { stream_id: setup.stream.stream_id },
    });
    expect([204, 404]).toContain(answer.status);
    if ('receiver' in setup) await setup.receiver.stop();
  }
}

async function newUser(): Promise<User> {
  const username = `user${++counter}`;
  return t.app
    .get(UsersService)
    .create({ username, password: PASSWORD, email: `${username}@example.test`, emailVerified: true }, SYSTEM);
}

/** RFC 9493 §3.2.3: the user as Signoff names them (its issuer, their public sub). */
const issSub = (user: User): SubjectIdentifier => ({ format: 'iss_sub', iss: t.url, sub: user.id });
/** RFC 9493 §3.2.2. */
const byEmail = (user: User): SubjectIdentifier => ({ format: 'email', email: user.email! });

/** A browser signed in to Signoff as `user` (an IdP session), and that session's id. */
async function signedIn(user: User): Promise<{ browser: Browser; sessionId: string }> {
  const before = new Set(await liveSessionIds(user.id));
  const browser = new Browser(t.url);
  const answer = await browser.login(user.username, PASSWORD);
  if (answer.status !== 303) throw new Error(`login of ${user.username}: ${answer.status}`);
  const sessionId = (await liveSessionIds(user.id)).find((id) => !before.has(id))!;
  return { browser, sessionId };
}
const liveSessionIds = async (userId: string) =>
  ((await api().get(`/api/v1/users/${userId}/sessions`).set(auth())).body.items as Array<{ id: string }>).map(
    (session) => session.id,
  );

/** The user logs out at Signoff's logout page (trigger user_logout). */
async function logOut(browser: Browser) {
  await browser.get('/logout');
  await browser.submit('/logout', { csrf: browser.csrf });
}

interface DeliveryView {
  id: string;
  provider: { id: string; slug: string };
  providerSessionId: string | null;
  channel: string;
  status: string;
  attempts: number;
  lastHttpStatus: number | null;
  lastError: string | null;
  attemptLog: Array<{ at: string; httpStatus: number | null; result: string; error: string | null }>;
}
interface OperationView {
  id: string;
  trigger: string;
  outcome: string | null;
  completedAt: string | null;
  deliveries: DeliveryView[];
}

/** GET /api/v1/logout-operations/:id. */
async function operation(id: string): Promise<OperationView> {
  const answer = await api().get(`/api/v1/logout-operations/${id}`).set(auth());
  expect(answer.status).toBe(200);
  return answer.body as OperationView;
}
/** The newest operation of `trigger` about `user` (waits for it). */
async function operationOf(user: User, trigger: string): Promise<OperationView> {
  const listed = await eventually(async () => {
    const body = (await api().get(`/api/v1/logout-operations?trigger=${trigger}&user_id=${user.id}`).set(auth())).body;
    return body.items?.length ? body.items[0] : null;
  });
  if (!listed) throw new Error(`no ${trigger} operation for ${user.username}`);
  return operation(listed.id);
}
/** The operation's deliveries to one receiver. */
const deliveriesTo = (op: OperationView, setup: Registered) =>
  op.deliveries.filter((delivery) => delivery.provider.slug === setup.slug);
/** Waits until the operation's deliveries to `setup` exist and all satisfy `done`; returns them. */
async function deliveriesWhen(
  operationId: string,
  setup: Registered,
  done: (delivery: DeliveryView) => boolean,
  timeoutMs = 10_000,
): Promise<DeliveryView[]> {
  return waitFor(
    async () => {
      const deliveries = deliveriesTo(await operation(operationId), setup);
      return deliveries.length > 0 && deliveries.every(done) ? deliveries : null;
    },
    timeoutMs,
    `the deliveries of ${operationId} to ${setup.slug}`,
  );
}

/** The SETs about `user` a receiver has of `type` once there are `count` of them. */
const arrived = (
  collector: SsfPushReceiver | SsfPollClient,
  type: string,
  user: SubjectIdentifier,
  count = 1,
  timeoutMs = 10_000,
) =>
  collector.waitFor(
    (self) => {
      const sets = self.setsOf(type, user);
      return sets.length >= count ? sets : null;
    },
    timeoutMs,
    `${count} ${type.split('/').pop()} about ${JSON.stringify(user)}`,
  );
/** Polls (short polls, acknowledging what came) until `count` SETs of `type` about `user` came. */
async function polled(setup: PollSetup, type: string, user: SubjectIdentifier, count = 1): Promise<ReceivedSet[]> {
  return waitFor(
    async () => {
      const result = await setup.poller.poll({ returnImmediately: true, maxEvents: 100 });
      if (result.sets.length)
        await setup.poller.ackInBatches(
          result.sets.map((set) => set.jti),
          100,
        );
      const sets = setup.poller.setsOf(type, user);
      return sets.length >= count ? sets : null;
    },
    10_000,
    `${count} polled ${type.split('/').pop()} about ${JSON.stringify(user)}`,
  );
}
const quiet = () => new Promise((resolve) => setTimeout(resolve, QUIET_MS));
const nowSec = () => Math.floor(t.clock.now().getTime() / 1000);

// ---------------------------------------------------------------------------------------------------

describe('transmitter configuration metadata (SSF 1.0 §7)', () => {
  it('is served at /.well-known/ssf-configuration with the exact issuer, the endpoints, and no empty array', async () => {
    const answer = await api().get('/.well-known/ssf-configuration');
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
    const served = answer.body as TransmitterMetadata;
    expect(metadataProblems(served, t.url)).toEqual([]);
    expect(served).toMatchObject({
      spec_version: '1_0',
      issuer: t.url,
      jwks_uri: `${t.url}/oauth2/jwks`,
      configuration_endpoint: `${t.url}/ssf/streams`,
      status_endpoint: `${t.url}/ssf/streams/status`,
      add_subject_endpoint: `${t.url}/ssf/subjects/add`,
      remove_subject_endpoint: `${t.url}/ssf/subjects/remove`,
      verification_endpoint: `${t.url}/ssf/verify`,
      default_subjects: 'ALL',
    });
    expect([...served.delivery_methods_supported!].sort()).toEqual([PUSH, POLL].sort());
    expect(served.authorization_schemes).toContainEqual({ spec_urn: 'urn:ietf:rfc:6749' });
    if (served.critical_subject_members !== undefined) expect(served.critical_subject_members).toEqual(['application']);
    // SSF §7.1: the issuer is the `iss` of every SET; Signoff's is its OIDC issuer, byte for byte.
    const oidc = (await api().get('/.well-known/openid-configuration')).body;
    expect(served.issuer).toBe(oidc.issuer);
  });

  it('publishes an RS256 key at jwks_uri (CAEP Interop §2.6: RSA of 2048 bits at least)', async () => {
    const jwks = (await api().get('/oauth2/jwks')).body as { keys: Array<Record<string, string>> };
    const rsa = jwks.keys.filter((key) => key.kty === 'RSA' && (key.alg === undefined || key.alg === 'RS256'));
    expect(rsa.length).toBeGreaterThan(0);
    for (const key of rsa) expect(Buffer.from(key.n, 'base64url').length * 8).toBeGreaterThanOrEqual(2048);
    // The remote set the receiver uses resolves it.
    expect(createRemoteJWKSet(new URL(metadata.jwks_uri!))).toBeDefined();
  });
});

describe('receivers (admin API)', () => {
  it('registers a receiver: 201 with {receiver, token} (the contract), the token shown once', async () => {
    const slug = `gateway-${++counter}`;
    const created = await api().post('/api/v1/ssf/receivers').set(auth()).send({ name: 'Gateway', slug });
    expect(created.status).toBe(201);
    expect(typeof created.body.token).toBe('string');
    expect(Object.keys(created.body).sort()).toEqual(['receiver', 'token']);
    expect(created.body.receiver).toMatchObject({ slug, name: 'Gateway' });
  });

  it('shows a receiver: the default audience, never the token, and its stream once it has one', async () => {
    const registered = await register('viewed');
    const shown = await api().get(`/api/v1/ssf/receivers/${registered.id}`).set(auth());
    expect(shown.status).toBe(200);
    expect(shown.body).toMatchObject({
      id: registered.id,
      slug: registered.slug,
      audience: `${t.url}/ssf/receivers/${registered.id}`,
      subjectFormat: 'iss_sub',
      stream: null,
    });
    expect(shown.body.token).toBeUndefined();
    expect(JSON.stringify(shown.body)).not.toContain(registered.token);

    const stream = await registered.streams.create({ events_requested: CAEP_EVENTS });
    const after = (await api().get(`/api/v1/ssf/receivers/${registered.id}`).set(auth())).body;
    expect(after.stream).toMatchObject({
      streamId: stream.stream_id,
      status: 'enabled',
      deliveryMethod: POLL,
      eventsRequested: CAEP_EVENTS,
      eventsDelivered: CAEP_EVENTS,
    });
    await registered.streams.deleteStream(stream.stream_id);
    expect((await api().get(`/api/v1/ssf/receivers/${registered.id}`).set(auth())).body.stream).toBeNull();
  });

  it('lists receivers; deleting one is 204, and its token stops working at once', async () => {
    const registered = await register('short-lived');
    const stream = await registered.streams.create({ events_requested: CAEP_EVENTS });
    const listed = await api().get('/api/v1/ssf/receivers').set(auth());
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((item: { id: string }) => item.id)).toContain(registered.id);

    expect((await api().delete(`/api/v1/ssf/receivers/${registered.id}`).set(auth())).status).toBe(204);
    expect((await api().get(`/api/v1/ssf/receivers/${registered.id}`).set(auth())).status).toBe(404);
    const after = (await api().get('/api/v1/ssf/receivers').set(auth())).body;
    expect(after.items.map((item: { id: string }) => item.id)).not.toContain(registered.id);
    const refused = await registered.streams.request('GET', 'configuration_endpoint', {
      query: { stream_id: stream.stream_id },
    });
    expect(refused.status).toBe(401);
  });

  it('refuses the admin API without an admin token', async () => {
    const answer = await api().post('/api/v1/ssf/receivers').send({ name: 'Nobody' });
    expect(answer.status).toBe(401);
  });
});

describe('stream management (SSF 1.0 §8.1.1)', () => {
  let push: PushSetup;
  let poll: PollSetup;

  beforeAll(async () => {
    push = await pushStream('manage-push');
    poll = await pollStream('manage-poll');
  });
  afterAll(() => retire(push, poll));

  it('creates a push stream: 201, iss and aud, events_delivered within what was asked and is supported, no secret echoed', () => {
    const { stream } = push;
    expect(stream.iss).toBe(t.url);
    expect(stream.aud).toBe(push.audience);
    expect(stream.delivery).toMatchObject({ method: PUSH, endpoint_url: push.receiver.url });
    // The contract: the authorization_header the receiver gave is a secret, never shown back.
    expect(JSON.stringify(stream)).not.toContain(push.authorizationHeader!);
    expect([...stream.events_delivered].sort()).toEqual([...CAEP_EVENTS].sort());
    expect(stream.events_requested).toEqual(CAEP_EVENTS);
    expect(stream.description).toBe('manage-push push');
    // The transmitter publishes how often verification may be asked for (SSF §8.1.1; 10 s by default).
    if (stream.min_verification_interval !== undefined)
      expect(stream.min_verification_interval).toBeGreaterThanOrEqual(1);
  });

  it('ignores event types it does not understand in events_requested (SSF §8.1.1: "MUST ignore")', async () => {
    const registered = await register('unknown-events');
    const stream = await registered.streams.create({
      events_requested: [EVENT.sessionRevoked, 'https://example.com/event-type/nobody-knows'],
    });
    expect(stream.events_delivered).toEqual([EVENT.sessionRevoked]);
    await registered.streams.deleteStream(stream.stream_id);
  });

  it('creates a poll stream when delivery is left out: method poll and an endpoint_url of its own (SSF §6.1.2)', () => {
    expect(poll.stream.delivery).toEqual({ method: POLL, endpoint_url: `${t.url}/ssf/poll/${poll.stream.stream_id}` });
    expect(poll.stream.stream_id).not.toBe(push.stream.stream_id);
  });

  it('answers 409 to a second create for the same receiver, and keeps the first stream (§8.1.1.1)', async () => {
    const second = await push.streams.request('POST', 'configuration_endpoint', {
      body: { delivery: { method: POLL }, events_requested: CAEP_EVENTS },
    });
    expect(second.status).toBe(409);
    expect(await push.streams.readAll()).toHaveLength(1);
    expect((await push.streams.read(push.stream.stream_id)).delivery.method).toBe(PUSH);
  });

  it('reads: an array of its streams without stream_id, the object with it, 404 for an unknown one (§8.1.1.2)', async () => {
    const all = await push.streams.readAll();
    expect(all.map((stream) => stream.stream_id)).toEqual([push.stream.stream_id]);
    const one = await push.streams.read(push.stream.stream_id);
    expect(one).toEqual(push.stream);
    const unknown = await push.streams.request('GET', 'configuration_endpoint', {
      query: { stream_id: 'no-such-stream' },
    });
    expect(unknown.status).toBe(404);
  });

  it('answers 400 to a body that is not JSON or not an object (§8.1.1.1)', async () => {
    const registered = await register('bad-json');
    for (const rawBody of ['{"delivery": ', '[]', '"poll"']) {
      const answer = await registered.streams.request('POST', 'configuration_endpoint', { rawBody });
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({ error: 'invalid_request', error_description: expect.any(String) });
    }
    expect(await registered.streams.readAll()).toEqual([]);
  });

  it('PATCH changes what it names and keeps the rest (§8.1.1.3)', async () => {
    const updated = await push.streams.update({ stream_id: push.stream.stream_id, description: 'renamed' });
    expect(updated).toEqual({ ...push.stream, description: 'renamed' });
    const narrowed = await push.streams.update({
      stream_id: push.stream.stream_id,
      events_requested: [EVENT.sessionRevoked],
    });
    expect(narrowed.description).toBe('renamed');
    expect(narrowed.delivery).toEqual(push.stream.delivery);
    expect(narrowed.events_delivered).toEqual([EVENT.sessionRevoked]);
    expect(await push.streams.read(push.stream.stream_id)).toEqual(narrowed);
    // Back as it was, for the tests that follow.
    const restored = await push.streams.update({
      stream_id: push.stream.stream_id,
      events_requested: CAEP_EVENTS,
      description: push.stream.description,
    });
    expect(restored).toEqual(push.stream);
  });

  it('PUT replaces: a receiver-supplied property left out is deleted (§8.1.1.4)', async () => {
    const replaced = await push.streams.replace({
      stream_id: push.stream.stream_id,
      delivery: { method: PUSH, endpoint_url: push.receiver.url, authorization_header: push.authorizationHeader },
      events_requested: CAEP_EVENTS,
    });
    expect(replaced.description).toBeUndefined();
    expect(replaced.delivery).toEqual(push.stream.delivery);
    expect((await push.streams.read(push.stream.stream_id)).description).toBeUndefined();
    push.stream = replaced;
  });

  it('answers 400 when a transmitter-supplied property does not match, and changes nothing (§8.1.1.3)', async () => {
    const before = await push.streams.read(push.stream.stream_id);
    for (const wrong of [
      { iss: 'https://another-issuer.example' },
      { aud: 'https://another-audience.example' },
      { events_delivered: [EVENT.credentialChange] },
    ]) {
      for (const method of ['PATCH', 'PUT']) {
        const answer = await push.streams.request(method, 'configuration_endpoint', {
          body: { stream_id: push.stream.stream_id, description: 'must not stick', ...wrong },
        });
        expect({ method, wrong, status: answer.status }).toEqual({ method, wrong, status: 400 });
      }
    }
    expect(await push.streams.read(push.stream.stream_id)).toEqual(before);
    // A poll stream's endpoint_url is the transmitter's (SSF §6.1.2): another one must not match.
    const pollBefore = await poll.streams.read(poll.stream.stream_id);
    const moved = await poll.streams.request('PATCH', 'configuration_endpoint', {
      body: {
        stream_id: poll.stream.stream_id,
        delivery: { method: POLL, endpoint_url: 'https://elsewhere.example/poll' },
      },
    });
    expect(moved.status).toBe(400);
    expect(await poll.streams.read(poll.stream.stream_id)).toEqual(pollBefore);
  });

  it("never lets a create choose transmitter-supplied values: refused, or iss and aud are the transmitter's", async () => {
    const registered = await register('self-chosen');
    const answer = await registered.streams.request('POST', 'configuration_endpoint', {
      body: { iss: 'https://evil.example', aud: 'https://victim.example', events_requested: CAEP_EVENTS },
    });
    if (answer.status === 201) {
      const stream = answer.body as StreamConfiguration;
      expect({ iss: stream.iss, aud: stream.aud }).toEqual({ iss: t.url, aud: registered.audience });
      await registered.streams.deleteStream(stream.stream_id);
    } else {
      expect(answer.status).toBe(400);
      expect(await registered.streams.readAll()).toEqual([]);
    }
  });

  it('PATCH, PUT and DELETE of an unknown stream are 404; PATCH without stream_id is 400', async () => {
    for (const method of ['PATCH', 'PUT']) {
      const answer = await push.streams.request(method, 'configuration_endpoint', {
        body: { stream_id: 'no-such-stream', description: 'x' },
      });
      expect(answer.status).toBe(404);
    }
    const gone = await push.streams.request('DELETE', 'configuration_endpoint', {
      query: { stream_id: 'no-such-stream' },
    });
    expect(gone.status).toBe(404);
    const anonymous = await push.streams.request('PATCH', 'configuration_endpoint', { body: { description: 'x' } });
    expect(anonymous.status).toBe(400);
  });

  it('DELETE is 204; then the stream is 404 and the receiver may create another (§8.1.1.5)', async () => {
    const registered = await register('delete-me');
    const stream = await registered.streams.create({ events_requested: CAEP_EVENTS });
    await registered.streams.deleteStream(stream.stream_id);
    const read = await registered.streams.request('GET', 'configuration_endpoint', {
      query: { stream_id: stream.stream_id },
    });
    expect(read.status).toBe(404);
    const status = await registered.streams.request('GET', 'status_endpoint', {
      query: { stream_id: stream.stream_id },
    });
    expect(status.status).toBe(404);
    expect(await registered.streams.readAll()).toEqual([]);
    const again = await registered.streams.create({ events_requested: CAEP_EVENTS });
    expect(again.stream_id).not.toBe(stream.stream_id);
    await registered.streams.deleteStream(again.stream_id);
  });

  it('refuses a push endpoint_url that is not a URL, or that the outbound policy forbids (400)', async () => {
    const registered = await register('bad-url');
    // The contract: a push endpoint passes the outbound policy (loopback is allowed here only because
    // PUBLIC_URL is itself loopback); the cloud metadata address and private networks are not.
    for (const endpoint_url of ['not a url', 'http://169.254.169.254/latest/meta-data', 'http://10.1.2.3/events']) {
      const answer = await registered.streams.request('POST', 'configuration_endpoint', {
        body: { delivery: { method: PUSH, endpoint_url }, events_requested: CAEP_EVENTS },
      });
      expect({ endpoint_url, status: answer.status }).toEqual({ endpoint_url, status: 400 });
    }
    expect(await registered.streams.readAll()).toEqual([]);
  });
});

describe('authorization (SSF 1.0 §8, RFC 6750 §3)', () => {
  let a: PollSetup;
  let b: PollSetup;

  beforeAll(async () => {
    a = await pollStream('owner');
    b = await pollStream('other');
  });
  afterAll(() => retire(a, b));

  const calls = (streamId: string) =>
    [
      ['GET', 'configuration_endpoint', { query: {} }],
      ['GET', 'configuration_endpoint', { query: { stream_id: streamId } }],
      ['PATCH', 'configuration_endpoint', { body: { stream_id: streamId, description: 'x' } }],
      ['DELETE', 'configuration_endpoint', { query: { stream_id: streamId } }],
      ['GET', 'status_endpoint', { query: { stream_id: streamId } }],
      ['POST', 'status_endpoint', { body: { stream_id: streamId, status: 'paused' } }],
      ['POST', 'add_subject_endpoint', { body: { stream_id: streamId, subject: { format: 'email', email: 'a@b.c' } } }],
      [
        'POST',
        'remove_subject_endpoint',
        { body: { stream_id: streamId, subject: { format: 'email', email: 'a@b.c' } } },
      ],
      ['POST', 'verification_endpoint', { body: { stream_id: streamId } }],
    ] as const;
  const pollAs = (endpoint: string, token: string | null) =>
    fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
      body: JSON.stringify({ returnImmediately: true }),
    });

  it('answers 401 with WWW-Authenticate: Bearer (no error code) without a token, on every endpoint and the poll endpoint', async () => {
    for (const [method, endpoint, options] of calls(a.stream.stream_id)) {
      const answer = await a.streams.request(method, endpoint, { ...options, token: null });
      expect({ method, endpoint, status: answer.status }).toEqual({ method, endpoint, status: 401 });
      const challenge = answer.headers.get('www-authenticate') ?? '';
      expect(challenge).toMatch(/^Bearer\b/);
      expect(challenge).not.toContain('error=');
    }
    const polled = await pollAs(a.stream.delivery.endpoint_url!, null);
    expect(polled.status).toBe(401);
    expect(polled.headers.get('www-authenticate')).toMatch(/^Bearer\b/);
  });

  it('answers 401 with error="invalid_token" for a token nobody issued', async () => {
    const bogus = `x${'y'.repeat(42)}`;
    for (const [method, endpoint, options] of calls(a.stream.stream_id)) {
      const answer = await a.streams.request(method, endpoint, { ...options, token: bogus });
      expect({ method, endpoint, status: answer.status }).toEqual({ method, endpoint, status: 401 });
      expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer\b.*error="invalid_token"/);
    }
    const polled = await pollAs(a.stream.delivery.endpoint_url!, bogus);
    expect(polled.status).toBe(401);
    expect(polled.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
  });

  it('refuses an admin API token as a receiver token (401)', async () => {
    const answer = await a.streams.request('GET', 'configuration_endpoint', { token: adminToken });
    expect(answer.status).toBe(401);
  });

  it('does not take the token from the query string (CAEP Interop §2.7: "MUST NOT")', async () => {
    const url = new URL(metadata.configuration_endpoint!);
    url.searchParams.set('access_token', a.token);
    const answer = await fetch(url);
    expect(answer.status).toBe(401);
  });

  it("answers 404 to another receiver's stream, on every call and at its poll endpoint, and changes nothing", async () => {
    const before = await a.streams.read(a.stream.stream_id);
    // Every call but the first (a listing, which names no stream).
    for (const [method, endpoint, options] of calls(a.stream.stream_id).slice(1)) {
      const answer = await b.streams.request(method, endpoint, options);
      expect({ method, endpoint, status: answer.status }).toEqual({ method, endpoint, status: 404 });
    }
    const polled = await pollAs(a.stream.delivery.endpoint_url!, b.token);
    expect(polled.status).toBe(404);
    // B's own listing shows B's stream only; A's is as it was.
    expect((await b.streams.readAll()).map((stream) => stream.stream_id)).toEqual([b.stream.stream_id]);
    expect(await a.streams.read(a.stream.stream_id)).toEqual(before);
    expect((await a.streams.status(a.stream.stream_id)).status).toBe('enabled');
  });

  it('a new token replaces the old one at once (POST /api/v1/ssf/receivers/:id/token)', async () => {
    const rotated = await api().post(`/api/v1/ssf/receivers/${a.id}/token`).set(auth());
    expect(rotated.status).toBe(200);
    const old = await a.streams.request('GET', 'configuration_endpoint');
    expect(old.status).toBe(401);
    expect(old.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
    const renewed = new SsfStreamClient(metadata, rotated.body.token, a.audience);
    expect((await renewed.read(a.stream.stream_id)).stream_id).toBe(a.stream.stream_id);
    a = { ...a, token: rotated.body.token, streams: renewed };
  });
});

describe('stream status (SSF 1.0 §8.1.2)', () => {
  let push: PushSetup;
  let poll: PollSetup;

  beforeAll(async () => {
    push = await pushStream('status-push');
    poll = await pollStream('status-poll');
  });
  afterAll(() => retire(push, poll));

  it('reads and sets enabled, paused and disabled, echoing the reason; 400 for another status, 404 for another stream', async () => {
    const id = push.stream.stream_id;
    expect(await push.streams.status(id)).toEqual({ stream_id: id, status: 'enabled' });
    expect(await push.streams.setStatus(id, 'paused', 'SYSTEM_DOWN_FOR_MAINTENANCE')).toEqual({
      stream_id: id,
      status: 'paused',
      reason: 'SYSTEM_DOWN_FOR_MAINTENANCE',
    });
    expect(await push.streams.status(id)).toMatchObject({ status: 'paused', reason: 'SYSTEM_DOWN_FOR_MAINTENANCE' });
    expect((await push.streams.setStatus(id, 'disabled')).status).toBe('disabled');
    expect((await push.streams.setStatus(id, 'enabled')).status).toBe('enabled');
    expect((await push.streams.status(id)).status).toBe('enabled');
    const wrong = await push.streams.request('POST', 'status_endpoint', { body: { stream_id: id, status: 'stopped' } });
    expect(wrong.status).toBe(400);
    // SSF §8.1.2.1: stream_id is REQUIRED; the spec names no code for its absence (400 or 404 both refuse it).
    const missing = await push.streams.request('GET', 'status_endpoint');
    expect([400, 404]).toContain(missing.status);
    const unknown = await push.streams.request('GET', 'status_endpoint', { query: { stream_id: 'no-such-stream' } });
    expect(unknown.status).toBe(404);
    expect((await push.streams.status(id)).status).toBe('enabled');
  });

  it('paused: events are held (delivery held) and sent when the stream is enabled again', async () => {
    await push.streams.setStatus(push.stream.stream_id, 'paused');
    const user = await newUser();
    const { browser } = await signedIn(user);
    await logOut(browser);
    const op = await operationOf(user, 'user_logout');
    const [held] = await deliveriesWhen(op.id, push, (delivery) => delivery.status === 'held');
    expect(held).toMatchObject({ channel: 'ssf_push', providerSessionId: null, attempts: 0 });
    await quiet();
    expect(push.receiver.setsAbout(issSub(user))).toEqual([]);

    await push.streams.setStatus(push.stream.stream_id, 'enabled');
    const [set] = await arrived(push.receiver, EVENT.sessionRevoked, issSub(user));
    expect(set.claims.txn).toBe(op.id);
    const [delivered] = await deliveriesWhen(op.id, push, (delivery) => delivery.status === 'succeeded');
    expect(delivered.id).toBe(held.id);
    expect(push.receiver.violations).toEqual([]);
  });

  it('disabled: held events end skipped, new ones are not kept, and nothing of them comes after enabling', async () => {
    const id = push.stream.stream_id;
    await push.streams.setStatus(id, 'paused');
    const first = await newUser();
    await logOut((await signedIn(first)).browser);
    const firstOp = await operationOf(first, 'user_logout');
    await deliveriesWhen(firstOp.id, push, (delivery) => delivery.status === 'held');

    await push.streams.setStatus(id, 'disabled');
    await deliveriesWhen(firstOp.id, push, (delivery) => delivery.status === 'skipped');
    const second = await newUser();
    await logOut((await signedIn(second)).browser);
    const secondOp = await operationOf(second, 'user_logout');
    // Not kept: no delivery to this stream, or one that is already final and unsent.
    for (const delivery of deliveriesTo(await operation(secondOp.id), push)) expect(delivery.status).toBe('skipped');

    await push.streams.setStatus(id, 'enabled');
    const third = await newUser(); // the control: the enabled stream gets what happens now
    await logOut((await signedIn(third)).browser);
    await arrived(push.receiver, EVENT.sessionRevoked, issSub(third));
    await quiet();
    expect(push.receiver.setsAbout(issSub(first))).toEqual([]);
    expect(push.receiver.setsAbout(issSub(second))).toEqual([]);
    for (const delivery of deliveriesTo(await operation(firstOp.id), push)) expect(delivery.status).toBe('skipped');
    expect(push.receiver.violations).toEqual([]);
  });

  it('a paused poll stream returns nothing until it is enabled', async () => {
    await poll.poller.drain();
    await poll.streams.setStatus(poll.stream.stream_id, 'paused');
    const user = await newUser();
    await logOut((await signedIn(user)).browser);
    const op = await operationOf(user, 'user_logout');
    await deliveriesWhen(op.id, poll, (delivery) => delivery.status === 'held');
    const whilePaused = await poll.poller.poll({ returnImmediately: true });
    expect(whilePaused.sets).toEqual([]);
    expect(whilePaused.moreAvailable).toBe(false);

    await poll.streams.setStatus(poll.stream.stream_id, 'enabled');
    const [set] = await polled(poll, EVENT.sessionRevoked, issSub(user));
    expect(set.claims.txn).toBe(op.id);
    await deliveriesWhen(op.id, poll, (delivery) => delivery.status === 'succeeded');
    expect(poll.poller.violations).toEqual([]);
  });
});

describe('verification (SSF 1.0 §8.1.4)', () => {
  let push: PushSetup;
  let poll: PollSetup;

  beforeAll(async () => {
    push = await pushStream('verify-push');
    poll = await pollStream('verify-poll');
  });
  afterAll(() => retire(push, poll));

  it('push: 204, then a verification SET with the state and sub_id opaque = stream_id; 429 when asked again too soon', async () => {
    const state = `state-${Date.now()}`;
    await push.streams.verify(push.stream.stream_id, state, push.verifier);
    const again = await push.streams.request('POST', 'verification_endpoint', {
      body: { stream_id: push.stream.stream_id, state: 'too soon' },
    });
    expect(again.status).toBe(429);

    const set = await push.receiver.waitFor(
      (self) => self.sets.find((received) => received.type === EVENT.verification && received.event.state === state),
      10_000,
      'the verification event',
    );
    expect(set.claims.sub_id).toEqual({ format: 'opaque', id: push.stream.stream_id });
    expect(set.claims.aud).toBe(push.audience);
    // Its own operation (the contract: trigger ssf_verification), whose delivery succeeded.
    expect(set.claims.txn).toBeDefined();
    const op = await operation(set.claims.txn!);
    expect(op.trigger).toBe('ssf_verification');
    await deliveriesWhen(op.id, push, (delivery) => delivery.status === 'succeeded' && delivery.channel === 'ssf_push');
    await quiet();
    expect(push.receiver.setsOf(EVENT.verification).map((received) => received.event.state)).not.toContain('too soon');
    expect(push.receiver.violations).toEqual([]);
  });

  it('a verification asked for while the stream is paused is held, and arrives once it is enabled (§8.1.2.1)', async () => {
    const paused = await pushStream('verify-paused');
    try {
      await paused.streams.setStatus(paused.stream.stream_id, 'paused');
      await paused.streams.verify(paused.stream.stream_id, 'held-state', paused.verifier);
      const listed = await waitFor(async () => {
        const body = (
          await api().get(`/api/v1/logout-operations?trigger=ssf_verification&provider_id=${paused.id}`).set(auth())
        ).body;
        return body.items?.length ? body.items[0] : null;
      });
      await deliveriesWhen(listed.id, paused, (delivery) => delivery.status === 'held');
      await quiet();
      expect(paused.receiver.sets).toEqual([]);
      await paused.streams.setStatus(paused.stream.stream_id, 'enabled');
      const [set] = await arrived(paused.receiver, EVENT.verification, {
        format: 'opaque',
        id: paused.stream.stream_id,
      });
      expect(set.event.state).toBe('held-state');
      expect(set.claims.txn).toBe(listed.id);
      expect(paused.receiver.violations).toEqual([]);
    } finally {
      await retire(paused);
    }
  });

  it('poll: the verification SET is there to poll, with the state; 404 for another stream', async () => {
    const state = 'c3RhdGUgb2YgdGhlIHBvbGwgcmVjZWl2ZXI=';
    // A malformed request is refused (§8.1.4.2: 400), and does not count as the last verification.
    const malformed = await poll.streams.request('POST', 'verification_endpoint', {
      body: { stream_id: poll.stream.stream_id, state: 42 },
    });
    expect(malformed.status).toBe(400);
    await poll.streams.verify(poll.stream.stream_id, state, poll.verifier);
    const set = await waitFor(
      async () => {
        const result = await poll.poller.poll({ returnImmediately: true });
        await poll.poller.ackInBatches(
          result.sets.map((received) => received.jti),
          10,
        );
        return poll.poller.setsOf(EVENT.verification).find((received) => received.event.state === state);
      },
      10_000,
      'the polled verification event',
    );
    expect(set.claims.sub_id).toEqual({ format: 'opaque', id: poll.stream.stream_id });
    const elsewhere = await poll.streams.request('POST', 'verification_endpoint', {
      body: { stream_id: push.stream.stream_id },
    });
    expect(elsewhere.status).toBe(404);
    expect(poll.poller.violations).toEqual([]);
  });
});

describe('events: CAEP and RISC to push and poll streams', () => {
  /** iss_sub, an Authorization header. */
  let pushed: PushSetup;
  /** iss_sub, poll. */
  let polling: PollSetup;
  /** Names users by email; no Authorization header configured. */
  let byMail: PushSetup;
  /** Asked for session-revoked only. */
  let narrow: PollSetup;
  let jwksKids: string[];

  beforeAll(async () => {
    pushed = await pushStream('events-push');
    polling = await pollStream('events-poll');
    byMail = await pushStream('events-email', { subjectFormat: 'email', authorizationHeader: null });
    narrow = await pollStream('events-narrow', { eventsRequested: [EVENT.sessionRevoked] });
    jwksKids = ((await api().get('/oauth2/jwks')).body.keys as Array<{ kid: string }>).map((key) => key.kid);
  });
  afterAll(() => retire(pushed, polling, byMail, narrow));
  afterEach(() => {
    for (const collector of [pushed.receiver, polling.poller, byMail.receiver, narrow.poller])
      expect(collector.violations).toEqual([]);
  });

  it("a user's logout: session-revoked to every stream, {user, session} complex subject, one txn, the engine's deliveries", async () => {
    const user = await newUser();
    const { browser, sessionId } = await signedIn(user);
    const before = nowSec();
    await logOut(browser);
    const op = await operationOf(user, 'user_logout');

    const [set] = await arrived(pushed.receiver, EVENT.sessionRevoked, issSub(user));
    expect(set.header).toMatchObject({ typ: 'secevent+jwt', alg: 'RS256' });
    expect(jwksKids).toContain(set.header.kid);
    expect(decodeProtectedHeader(set.raw).typ).toBe('secevent+jwt');
    expect(set.claims).toMatchObject({ iss: t.url, aud: pushed.audience, txn: op.id });
    expect(set.claims.sub_id).toEqual({
      format: 'complex',
      user: { format: 'iss_sub', iss: t.url, sub: user.id },
      session: { format: 'opaque', id: sessionId },
    });
    expect(set.event).toMatchObject({ initiating_entity: 'user', reason_admin: { en: expect.any(String) } });
    expect(set.event.event_timestamp).toBeGreaterThanOrEqual(before - 1);
    expect(set.event.event_timestamp).toBeLessThanOrEqual(nowSec() + 1);
    expect(set.claims.iat).toBeGreaterThanOrEqual(before - 1);

    const [mailed] = await arrived(byMail.receiver, EVENT.sessionRevoked, byEmail(user));
    expect(mailed.claims.sub_id).toEqual({
      format: 'complex',
      user: { format: 'email', email: user.email },
      session: { format: 'opaque', id: sessionId },
    });
    expect(mailed.claims.aud).toBe(byMail.audience);

    const [pulled] = await polled(polling, EVENT.sessionRevoked, issSub(user));
    expect(pulled.claims.sub_id).toEqual(set.claims.sub_id);
    const [narrowed] = await polled(narrow, EVENT.sessionRevoked, issSub(user));
    // One SET per stream: each its own jti and audience, the operation's txn in all.
    const jtis = [set, mailed, pulled, narrowed].map((received) => received.jti);
    expect(new Set(jtis).size).toBe(4);
    expect(new Set([set, mailed, pulled, narrowed].map((received) => received.claims.txn))).toEqual(new Set([op.id]));

    // Each stream is a channel of the operation: a delivery per SET, succeeded (the poll ones once acked).
    for (const setup of [pushed, byMail])
      expect(await deliveriesWhen(op.id, setup, (d) => d.status === 'succeeded')).toEqual([
        expect.objectContaining({ channel: 'ssf_push', providerSessionId: null, attempts: 1 }),
      ]);
    for (const setup of [polling, narrow])
      expect(await deliveriesWhen(op.id, setup, (d) => d.status === 'succeeded')).toEqual([
        expect.objectContaining({ channel: 'ssf_poll', providerSessionId: null }),
      ]);
    // The contract: a SET's jti is its delivery's id.
    const [delivery] = deliveriesTo(await operation(op.id), pushed);
    expect(set.jti).toBe(delivery.id);
  });

  it('an administrator ending two sessions: two session-revoked SETs with one txn and the admin as initiator', async () => {
    const user = await newUser();
    const one = await signedIn(user);
    const two = await signedIn(user);
    const ended = await api().delete(`/api/v1/users/${user.id}/sessions`).set(auth());
    expect(ended.status).toBe(202);
    const sets = await arrived(pushed.receiver, EVENT.sessionRevoked, issSub(user), 2);
    expect(sets).toHaveLength(2);
    expect(sets.map((set) => (set.claims.sub_id.session as SubjectIdentifier).id).sort()).toEqual(
      [one.sessionId, two.sessionId].sort(),
    );
    expect(sets.map((set) => set.claims.txn)).toEqual([ended.body.operationId, ended.body.operationId]);
    for (const set of sets) expect(set.event.initiating_entity).toBe('admin');
    expect(await polled(polling, EVENT.sessionRevoked, issSub(user), 2)).toHaveLength(2);
  });

  it('deactivation: account-disabled and session-revoked, in one txn; a stream that asked for sessions only gets those', async () => {
    const user = await newUser();
    const { sessionId } = await signedIn(user);
    const deactivated = await api().post(`/api/v1/users/${user.id}/deactivate`).set(auth());
    expect(deactivated.status).toBe(202);
    const txn = deactivated.body.operationId as string;

    const [disabled] = await arrived(pushed.receiver, EVENT.accountDisabled, issSub(user));
    expect(disabled.claims.sub_id).toEqual(issSub(user));
    expect(disabled.claims.txn).toBe(txn);
    const [revoked] = await arrived(pushed.receiver, EVENT.sessionRevoked, issSub(user));
    expect(revoked.claims.txn).toBe(txn);
    expect((revoked.claims.sub_id.session as SubjectIdentifier).id).toBe(sessionId);
    expect(revoked.event.initiating_entity).toBe('admin');

    expect((await arrived(byMail.receiver, EVENT.accountDisabled, byEmail(user)))[0].claims.sub_id).toEqual(
      byEmail(user),
    );
    await polled(polling, EVENT.accountDisabled, issSub(user));
    await polled(polling, EVENT.sessionRevoked, issSub(user));
    await polled(narrow, EVENT.sessionRevoked, issSub(user));
    await quiet();
    await narrow.poller.drain();
    expect(narrow.poller.setsOf(EVENT.accountDisabled)).toEqual([]);
    // RISC §2.3 defines only `reason` (hijacking, bulk-account: neither fits an administrator's act, so
    // none); the contract adds CAEP's reason_admin, which SSF §4.2.3 lets a receiver ignore.
    expect(disabled.event.reason).toBeUndefined();
    expect(disabled.event.reason_admin).toEqual({ en: expect.any(String) });
  });

  it('deactivating a user who is inactive already tells no stream again', async () => {
    const user = await newUser();
    expect((await api().post(`/api/v1/users/${user.id}/deactivate`).set(auth())).status).toBe(202);
    await arrived(pushed.receiver, EVENT.accountDisabled, issSub(user));
    const again = await api().post(`/api/v1/users/${user.id}/deactivate`).set(auth());
    expect(again.status).toBe(202);
    const op = await operation(again.body.operationId as string);
    expect(op.deliveries).toEqual([]);
    await quiet();
    expect(pushed.receiver.setsOf(EVENT.accountDisabled, issSub(user))).toHaveLength(1);
    // Many at once: one of them inactive already, one active.
    const other = await newUser();
    const both = await api()
      .post('/api/v1/users/deactivate')
      .set(auth())
      .send({ ids: [user.id, other.id] });
    expect(both.status).toBe(202);
    await arrived(pushed.receiver, EVENT.accountDisabled, issSub(other));
    await quiet();
    expect(pushed.receiver.setsOf(EVENT.accountDisabled, issSub(user))).toHaveLength(1);
  });

  it('activation: account-enabled, in an operation of its own', async () => {
    const user = await newUser();
    expect((await api().post(`/api/v1/users/${user.id}/deactivate`).set(auth())).status).toBe(202);
    await arrived(pushed.receiver, EVENT.accountDisabled, issSub(user));
    const activated = await api().post(`/api/v1/users/${user.id}/activate`).set(auth());
    expect(activated.status).toBe(200);

    const [enabled] = await arrived(pushed.receiver, EVENT.accountEnabled, issSub(user));
    expect(enabled.claims.sub_id).toEqual(issSub(user));
    const disabledTxn = pushed.receiver.setsOf(EVENT.accountDisabled, issSub(user))[0].claims.txn;
    expect(enabled.claims.txn).not.toBe(disabledTxn);
    const op = await operation(enabled.claims.txn!);
    expect(op.trigger).toBe('user_activated');
    await deliveriesWhen(op.id, pushed, (delivery) => delivery.status === 'succeeded');
    await polled(polling, EVENT.accountEnabled, issSub(user));
    await quiet();
    await narrow.poller.drain();
    expect(narrow.poller.setsOf(EVENT.accountEnabled)).toEqual([]);
  });

  it('a password change: credential-change (password, update) and the sessions it ends, in one txn', async () => {
    const user = await newUser();
    await signedIn(user);
    const changed = await api()
      .patch(`/api/v1/users/${user.id}`)
      .set(auth())
      .send({ password: 'another password long enough' });
    expect(changed.status).toBe(200);

    const [change] = await arrived(pushed.receiver, EVENT.credentialChange, issSub(user));
    expect(change.claims.sub_id).toEqual(issSub(user));
    expect(change.event).toMatchObject({
      credential_type: 'password',
      change_type: 'update',
      initiating_entity: 'admin',
      event_timestamp: expect.any(Number),
    });
    const [revoked] = await arrived(pushed.receiver, EVENT.sessionRevoked, issSub(user));
    expect(revoked.claims.txn).toBe(change.claims.txn);
    expect((await operation(change.claims.txn!)).trigger).toBe('password_changed');

    await arrived(byMail.receiver, EVENT.credentialChange, byEmail(user));
    await polled(polling, EVENT.credentialChange, issSub(user));
    await polled(narrow, EVENT.sessionRevoked, issSub(user));
    await quiet();
    await narrow.poller.drain();
    expect(narrow.poller.setsOf(EVENT.credentialChange)).toEqual([]);
  });

  it('a removed subject gets nothing until it is added again; other users and other streams are unaffected', async () => {
    const user = await newUser();
    const bystander = await newUser();
    await pushed.streams.removeSubject(pushed.stream.stream_id, issSub(user));
    await byMail.streams.removeSubject(byMail.stream.stream_id, byEmail(user));

    await logOut((await signedIn(user)).browser);
    await logOut((await signedIn(bystander)).browser);
    await polled(polling, EVENT.sessionRevoked, issSub(user)); // the control: another stream is told
    await arrived(pushed.receiver, EVENT.sessionRevoked, issSub(bystander));
    await arrived(byMail.receiver, EVENT.sessionRevoked, byEmail(bystander));
    await quiet();
    expect(pushed.receiver.setsAbout(issSub(user))).toEqual([]);
    expect(byMail.receiver.setsAbout(byEmail(user))).toEqual([]);

    await pushed.streams.addSubject(pushed.stream.stream_id, issSub(user), true);
    await logOut((await signedIn(user)).browser);
    await arrived(pushed.receiver, EVENT.sessionRevoked, issSub(user));
    await quiet();
    expect(byMail.receiver.setsAbout(byEmail(user))).toEqual([]); // still removed there

    // The contract: a user removed by either identifier (iss_sub or email) is out, whatever format the
    // stream names users with.
    const other = await newUser();
    await pushed.streams.removeSubject(pushed.stream.stream_id, byEmail(other));
    await logOut((await signedIn(other)).browser);
    await polled(polling, EVENT.sessionRevoked, issSub(other));
    await quiet();
    expect(pushed.receiver.setsAbout(issSub(other))).toEqual([]);
  });

  it('an application-only logout (the application deleted): session-revoked naming the application; the IdP session lives on', async () => {
    const app = await registerClient(t);
    try {
      const user = await newUser();
      const browser = new Browser(t.url);
      await login(app, browser, { username: user.username, password: PASSWORD });
      const [sessionId] = await liveSessionIds(user.id);
      const slug = (await api().get(`/api/v1/providers/${app.providerId}`).set(auth())).body.slug as string;
      expect(typeof slug).toBe('string');
      const removed = await api().delete(`/api/v1/providers/${app.providerId}?end_sessions=true`).set(auth());
      expect(removed.status).toBe(202);

      const [set] = await arrived(pushed.receiver, EVENT.sessionRevoked, issSub(user));
      expect(set.claims.txn).toBe(removed.body.operationId);
      expect(set.event.initiating_entity).toBe('admin');
      expect(await liveSessionIds(user.id)).toEqual([sessionId]);
      expect(await browser.signedInAs()).toBe(user.username);
      await polled(polling, EVENT.sessionRevoked, issSub(user));
      // SSF §3.3: one principal, described by user, session and application together; the metadata
      // names `application` critical (SSF §3.6), so a receiver that cannot read it must not take the SET
      // for the end of the whole session.
      expect(set.claims.sub_id).toEqual({
        format: 'complex',
        user: issSub(user),
        session: { format: 'opaque', id: sessionId },
        application: { format: 'opaque', id: slug },
      });
    } finally {
      await app.rp.stop();
    }
  });

  it('answers 400 to a subject that is not a subject identifier, and 404 for another stream', async () => {
    for (const subject of [{ format: 'iss_sub', iss: t.url }, { email: 'a@b.c' }, 'someone']) {
      const answer = await pushed.streams.request('POST', 'add_subject_endpoint', {
        body: { stream_id: pushed.stream.stream_id, subject },
      });
      expect({ subject, status: answer.status }).toEqual({ subject, status: 400 });
    }
    const elsewhere = await pushed.streams.request('POST', 'remove_subject_endpoint', {
      body: { stream_id: polling.stream.stream_id, subject: { format: 'email', email: 'a@b.c' } },
    });
    expect(elsewhere.status).toBe(404);
  });
});

describe('push delivery (RFC 8935): retries and refusals', () => {
  let push: PushSetup;

  beforeAll(async () => {
    push = await pushStream('retries');
  });
  afterAll(() => retire(push));

  it('a receiver down for a while (503, then closed connections) receives everything once it is back, each SET once', async () => {
    push.receiver.down('503');
    const [one, two, three] = [await newUser(), await newUser(), await newUser()];
    await logOut((await signedIn(one)).browser);
    const oneOp = await operationOf(one, 'user_logout');
    await signedIn(two);
    const deactivated = await api().post(`/api/v1/users/${two.id}/deactivate`).set(auth());
    expect(deactivated.status).toBe(202);
    // Down for a while: every delivery is tried, and tried again, while the receiver answers 503.
    // Attempts recorded (the log), not only claimed (`attempts` counts one before its POST is sent):
    // a POST still on its way when the receiver comes back would be accepted at its first try.
    const recorded = (count: number) => (d: DeliveryView) => d.attemptLog.length >= count;
    await deliveriesWhen(oneOp.id, push, recorded(2), 15_000);
    await deliveriesWhen(deactivated.body.operationId, push, recorded(2), 15_000);
    push.receiver.down('close');
    await logOut((await signedIn(three)).browser);
    const threeOp = await operationOf(three, 'user_logout');
    await deliveriesWhen(threeOp.id, push, recorded(1), 15_000);
    expect(push.receiver.sets).toEqual([]);
    push.receiver.up();

    await arrived(push.receiver, EVENT.sessionRevoked, issSub(one), 1, 60_000);
    await arrived(push.receiver, EVENT.accountDisabled, issSub(two), 1, 60_000);
    await arrived(push.receiver, EVENT.sessionRevoked, issSub(two), 1, 60_000);
    await arrived(push.receiver, EVENT.sessionRevoked, issSub(three), 1, 60_000);
    expect(push.receiver.violations).toEqual([]);
    expect(push.receiver.sets).toHaveLength(4);
    expect(push.receiver.redeliveries).toBe(0); // RFC 8935 §2: nothing is sent again once it was accepted
    // The same SET on every attempt (the contract: jti = the delivery's id).
    for (const set of push.receiver.sets) expect(push.receiver.refusedJtis).toContain(set.jti);

    const [delivery] = await deliveriesWhen(oneOp.id, push, (d) => d.status === 'succeeded');
    expect(delivery.attempts).toBeGreaterThan(1);
    expect(delivery.attemptLog.length).toBe(delivery.attempts);
    expect(delivery.attemptLog[0]).toMatchObject({ httpStatus: 503, result: 'queued' });
    expect(delivery.attemptLog.at(-1)).toMatchObject({ httpStatus: 202, result: 'succeeded' });
    const twoDeliveries = await deliveriesWhen(deactivated.body.operationId, push, (d) => d.status === 'succeeded');
    expect(twoDeliveries).toHaveLength(2);
    for (const each of twoDeliveries) expect(each.attempts).toBeGreaterThan(1);
    const [closed] = await deliveriesWhen(threeOp.id, push, (d) => d.status === 'succeeded');
    expect(closed.attempts).toBeGreaterThan(1);
    expect(closed.attemptLog[0]).toMatchObject({ httpStatus: null, result: 'queued' });
    const completed = await waitFor(async () => {
      const done = await operation(oneOp.id);
      return done.completedAt ? done : null;
    });
    expect(completed.outcome).toBe('complete');
  }, 120_000);

  it('400 invalid_audience: the delivery fails at once, without a retry', async () => {
    const user = await newUser();
    const requestsBefore = push.receiver.requests;
    push.receiver.answer400('invalid_audience');
    await logOut((await signedIn(user)).browser);
    const op = await operationOf(user, 'user_logout');
    const [failed] = await deliveriesWhen(op.id, push, (d) => d.status === 'failed' || d.status === 'dead');
    expect(failed).toMatchObject({ status: 'failed', attempts: 1, lastHttpStatus: 400 });
    // RFC 8935 §2.3, §4: the receiver's `err` is what an administrator needs to see why.
    expect(failed.lastError).toContain('invalid_audience');
    await quiet();
    expect(push.receiver.requests).toBe(requestsBefore + 1);
    expect(push.receiver.setsAbout(issSub(user))).toEqual([]);
    expect((await operation(op.id)).deliveries.find((d) => d.id === failed.id)).toMatchObject({
      status: 'failed',
      attempts: 1,
    });
  });
});

describe('whether a stream takes a push is decided when the worker sends it', () => {
  let push: PushSetup;

  beforeAll(async () => {
    push = await pushStream('gate');
  });
  afterAll(() => retire(push));

  it("an administrator's retry of a failed push to a paused stream is held, not sent, and goes out once it is enabled", async () => {
    const user = await newUser();
    push.receiver.answer400('invalid_request');
    await logOut((await signedIn(user)).browser);
    const op = await operationOf(user, 'user_logout');
    const [failed] = await deliveriesWhen(op.id, push, (d) => d.status === 'failed');
    await push.streams.setStatus(push.stream.stream_id, 'paused');
    const requests = push.receiver.requests;

    const retried = await api().post(`/api/v1/logout-deliveries/${failed.id}/retry`).set(auth());
    expect(retried.status).toBe(200);
    const [held] = await deliveriesWhen(op.id, push, (d) => d.id === failed.id && d.status === 'held');
    expect(held.attempts).toBe(0); // the claim's attempt was not made, and is not counted
    await quiet();
    expect(push.receiver.requests).toBe(requests);

    await push.streams.setStatus(push.stream.stream_id, 'enabled');
    await arrived(push.receiver, EVENT.sessionRevoked, issSub(user));
    await deliveriesWhen(op.id, push, (d) => d.id === failed.id && d.status === 'succeeded');
    expect(push.receiver.violations).toEqual([]);
  });

  it('a push left for a stream that polls now is moved to its poll, and polled', async () => {
    const user = await newUser();
    push.receiver.down('503');
    await logOut((await signedIn(user)).browser);
    const op = await operationOf(user, 'user_logout');
    // The first attempt met a 503: the event waits for its retry, still a push.
    await deliveriesWhen(op.id, push, (d) => d.channel === 'ssf_push' && d.attempts >= 1 && d.status === 'queued');
    const switched = await push.streams.request('PATCH', 'configuration_endpoint', {
      body: { stream_id: push.stream.stream_id, delivery: { method: 'urn:ietf:rfc:8936' } },
    });
    expect(switched.status).toBe(200);
    const stream = switched.body as StreamConfiguration;
    const poller = new SsfPollClient(push.verifier, stream.delivery.endpoint_url!, push.token);
    const asPoll: PollSetup = { ...push, poller, stream };
    const [set] = await polled(asPoll, EVENT.sessionRevoked, issSub(user));
    expect(set.claims.txn).toBe(op.id);
    push.receiver.up();
  });
});

describe('poll delivery (RFC 8936)', () => {
  let poll: PollSetup;

  beforeAll(async () => {
    poll = await pollStream('polling');
  });
  afterAll(() => retire(poll));
  afterEach(() => expect(poll.poller.violations).toEqual([]));

  it('maxEvents and moreAvailable; unacknowledged SETs come back; acknowledged ones (in batches) never do', async () => {
    await poll.poller.drain();
    const users = [await newUser(), await newUser(), await newUser(), await newUser(), await newUser()];
    const operations: string[] = [];
    for (const user of users) {
      await logOut((await signedIn(user)).browser);
      operations.push((await operationOf(user, 'user_logout')).id);
    }
    const mine = (sets: ReceivedSet[]) => sets.filter((set) => operations.includes(set.claims.txn!));

    const first = await poll.poller.poll({ maxEvents: 2, returnImmediately: true });
    expect(first.sets).toHaveLength(2);
    expect(first.moreAvailable).toBe(true);

    // Nothing acknowledged: all five are there, the first two again.
    const all = await poll.poller.poll({ maxEvents: 50, returnImmediately: true });
    expect(mine(all.sets)).toHaveLength(5);
    expect(all.moreAvailable).toBe(false);
    const jtis = mine(all.sets).map((set) => set.jti);
    expect(jtis).toEqual(expect.arrayContaining(first.sets.map((set) => set.jti)));
    expect(poll.poller.redeliveries).toBeGreaterThanOrEqual(2);

    // Acknowledge three in an ack-only request, then one more while polling (RFC 8936 §2.4.2, §2.4.3).
    await poll.poller.ackInBatches(jtis.slice(0, 3), 3);
    const next = await poll.poller.poll({ maxEvents: 50, returnImmediately: true, ack: [jtis[3]] });
    expect(mine(next.sets).map((set) => set.jti)).toEqual([jtis[4]]);
    const last = await poll.poller.poll({ maxEvents: 50, returnImmediately: true });
    expect(mine(last.sets).map((set) => set.jti)).toEqual([jtis[4]]);
    await poll.poller.ackInBatches([jtis[4]], 1);
    for (let i = 0; i < 3; i++) {
      const after = await poll.poller.poll({ maxEvents: 50, returnImmediately: true });
      expect(mine(after.sets)).toEqual([]);
    }
    // Acknowledged is delivered: each operation's poll delivery succeeded.
    for (const id of operations) await deliveriesWhen(id, poll, (delivery) => delivery.status === 'succeeded');
    // Acknowledging an unknown or already acknowledged jti is harmless.
    const harmless = await poll.poller.poll({ ack: [jtis[0], 'no-such-jti'], maxEvents: 0, returnImmediately: true });
    expect(harmless.sets).toEqual([]);
  });

  it('setErrs: a SET the receiver reports is not returned again and its delivery failed with the error', async () => {
    await poll.poller.drain();
    const user = await newUser();
    await logOut((await signedIn(user)).browser);
    const op = await operationOf(user, 'user_logout');
    const [set] = await waitFor(
      async () => {
        const result = await poll.poller.poll({ returnImmediately: true });
        return result.sets.length ? result.sets : null;
      },
      10_000,
      'the SET',
    );
    expect(set.claims.txn).toBe(op.id);
    await poll.poller.poll({
      setErrs: { [set.jti]: { err: 'invalid_request', description: 'The event payload could not be processed' } },
      maxEvents: 0,
      returnImmediately: true,
    });
    const [failed] = await deliveriesWhen(op.id, poll, (delivery) => delivery.status === 'failed');
    expect(JSON.stringify(failed)).toContain('invalid_request');
    const after = await poll.poller.poll({ returnImmediately: true });
    expect(after.sets.map((received) => received.jti)).not.toContain(set.jti);
  });

  it('answers 400 to a malformed poll request (RFC 8936 §2.5.1)', async () => {
    const bodies = ['{"maxEvents": ', '[]', '"poll"', '{"maxEvents": -1}', '{"maxEvents": "ten"}', '{"ack": "jti"}'];
    const answers: Record<string, number | string> = {};
    for (const body of bodies) {
      // A request read as a (long) poll would hang until the timeout: 3 s is plenty for a refusal.
      answers[body] = await fetch(poll.stream.delivery.endpoint_url!, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${poll.token}` },
        body,
        signal: AbortSignal.timeout(3_000),
      }).then(
        (answer) => answer.status,
        () => 'no answer within 3 s',
      );
    }
    expect(answers).toEqual(Object.fromEntries(bodies.map((body) => [body, 400])));
  });

  it('deleting a stream ends what it still kept: no delivery stays pending, and the operation completes', async () => {
    const doomed = await pollStream('doomed');
    const user = await newUser();
    await logOut((await signedIn(user)).browser);
    const op = await operationOf(user, 'user_logout');
    await deliveriesWhen(op.id, doomed, (delivery) => delivery.status === 'pending');
    await doomed.streams.deleteStream(doomed.stream.stream_id);
    // SSF §8.1.1.5 says nothing of the SETs a deleted stream kept; they can no longer be delivered, so
    // an operation waiting for them would never end (the contract: disabled → held ones end skipped).
    const [ended] = await deliveriesWhen(op.id, doomed, (delivery) => delivery.status !== 'pending', 5_000);
    expect(['skipped', 'failed', 'dead']).toContain(ended.status);
    await polled(poll, EVENT.sessionRevoked, issSub(user)); // the describe's own stream takes its SET
    const completed = await waitFor(async () => (await operation(op.id)).completedAt, 5_000, 'the operation to end');
    expect(completed).toEqual(expect.any(String));
  });

  it('a long poll answers as soon as a SET is there', async () => {
    await poll.poller.drain();
    const user = await newUser();
    const { browser } = await signedIn(user);
    const started = Date.now();
    const waiting = poll.poller.poll({ maxEvents: 10 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    await logOut(browser);
    const result = await waiting;
    const elapsed = Date.now() - started;
    expect(result.sets.map((set) => set.type)).toEqual([EVENT.sessionRevoked]);
    expect(elapsed).toBeLessThan(8_000);
    await poll.poller.ackInBatches(
      result.sets.map((set) => set.jti),
      10,
    );
  }, 40_000);
});

describe('the mixed logout: a global token revocation tells every channel', () => {
  let rp: TestClient;
  let farm: SamlSpFarm;
  let push: PushSetup;
  let poll: PollSetup;

  beforeAll(async () => {
    rp = await registerClient(t);
    farm = await SamlSpFarm.start(t);
    await farm.add('soapsp', 'SOAP', 'backchannel');
    push = await pushStream('mixed-push');
    poll = await pollStream('mixed-poll');
  });
  afterAll(async () => {
    await retire(push, poll);
    await rp?.rp.stop();
    await farm?.close();
  });

  it('OIDC back-channel, SAML SOAP, SSF push and SSF poll are told, and the operation shows each delivery succeeded', async () => {
    const user = await newUser();
    const browser = new Browser(t.url);
    const credentials = { username: user.username, password: PASSWORD };
    const { tokens } = await login(rp, browser, credentials);
    const sp = farm.sps.get('soapsp')!;
    const { fields } = await samlSignIn(browser, await sp.getAuthorizeUrlAsync('', undefined, {}), credentials);
    const sessionIndex = (await sp.validatePostResponseAsync({ SAMLResponse: fields.SAMLResponse })).profile!
      .sessionIndex!;
    const [sessionId] = await liveSessionIds(user.id);
    const sid = tokens.claims()!.sid as string;
    await poll.poller.drain();

    const revoked = await api()
      .post('/oauth2/global-token-revocation')
      .set('Authorization', `Bearer ${revokerToken}`)
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ sub_id: issSub(user) }));
    expect(revoked.status).toBe(204);
    const op = await operationOf(user, 'global_revocation');

    // Every channel is told: the RP's logout token, the SP's LogoutRequest, a SET pushed, a SET polled.
    expect(await eventually(async () => rp.rp.logoutTokens.some((token) => token.claims.sid === sid))).toBe(true);
    expect(rp.rp.rejected).toEqual([]);
    expect(
      await eventually(async () => farm.received.find((received) => received.sessionIndex === sessionIndex)),
    ).toMatchObject({ sp: 'soapsp', binding: 'soap' });
    const [pushedSet] = await arrived(push.receiver, EVENT.sessionRevoked, issSub(user));
    const [polledSet] = await polled(poll, EVENT.sessionRevoked, issSub(user));
    for (const set of [pushedSet, polledSet]) {
      expect(set.claims.txn).toBe(op.id);
      expect(set.claims.sub_id).toEqual({
        format: 'complex',
        user: issSub(user),
        session: { format: 'opaque', id: sessionId },
      });
    }
    expect(push.receiver.violations).toEqual([]);
    expect(poll.poller.violations).toEqual([]);

    // The operation shows each delivery, each succeeded (the poll one once acknowledged), and is complete.
    const completed = await waitFor(
      async () => {
        const current = await operation(op.id);
        return current.completedAt && current.deliveries.every((d) => d.status === 'succeeded') ? current : null;
      },
      15_000,
      'the operation to complete',
    );
    expect(completed.outcome).toBe('complete');
    expect(completed.deliveries.map((delivery) => delivery.channel).sort()).toEqual(
      ['backchannel_oidc', 'backchannel_saml', 'ssf_poll', 'ssf_push'].sort(),
    );
    const bySlug = Object.fromEntries(
      completed.deliveries.map((delivery) => [delivery.channel, delivery.provider.slug]),
    );
    expect(bySlug).toMatchObject({ ssf_push: push.slug, ssf_poll: poll.slug });
  });
});

describe('poll bounds (RFC 8936 §2: undelivered SETs may be discarded; the contract: SSF_POLL_MAX_EVENTS, SSF_POLL_MAX_AGE)', () => {
  // An app of its own, with small bounds and a short long poll. The suite's helpers work on the current
  // app (t, adminToken, metadata), so this one stands in for the suite's while the describe runs.
  let saved: { t: TestApp; adminToken: string; metadata: TransmitterMetadata };
  let own: TestApp | undefined;
  let poll: PollSetup;

  beforeAll(async () => {
    saved = { t, adminToken, metadata };
    own = await startApp(
      {
        BOOTSTRAP_ADMIN_USERNAME: 'root',
        BOOTSTRAP_ADMIN_PASSWORD: 'root password long enough',
        SSF_POLL_MAX_EVENTS: '3',
        SSF_POLL_MAX_AGE: '1h',
        SSF_LONG_POLL_TIMEOUT: '2s',
      },
      { withWorker: true },
    );
    t = own;
    const root = (await t.app.get(UsersService).findByUsername('root'))!;
    adminToken = (await t.app.get(ApiTokensService).create(root, 'admin', null, SYSTEM)).token;
    metadata = await discover(t.url);
    poll = await pollStream('bounded');
  });
  afterAll(async () => {
    ({ t, adminToken, metadata } = saved);
    await own?.close();
  });
  afterEach(() => expect(poll.poller.violations).toEqual([]));

  it('keeps at most SSF_POLL_MAX_EVENTS unacknowledged SETs: the oldest end dead, with a reason', async () => {
    const operations: string[] = [];
    for (let i = 0; i < 5; i++) {
      const user = await newUser();
      await logOut((await signedIn(user)).browser);
      operations.push((await operationOf(user, 'user_logout')).id);
    }
    const result = await poll.poller.poll({ maxEvents: 50, returnImmediately: true });
    expect(result.sets.map((set) => set.claims.txn).sort()).toEqual(operations.slice(2).sort());
    expect(result.moreAvailable).toBe(false);
    for (const id of operations.slice(0, 2)) {
      const [dead] = await deliveriesWhen(id, poll, (delivery) => delivery.status === 'dead');
      expect(dead.lastError).toEqual(expect.any(String));
    }
    await poll.poller.ackInBatches(
      result.sets.map((set) => set.jti),
      2,
    );
    for (const id of operations.slice(2)) await deliveriesWhen(id, poll, (delivery) => delivery.status === 'succeeded');
  });

  it('drops SETs older than SSF_POLL_MAX_AGE', async () => {
    await poll.poller.drain();
    const old = await newUser();
    await logOut((await signedIn(old)).browser);
    const oldOp = await operationOf(old, 'user_logout');
    t.clock.advance(2 * 3_600_000);
    const fresh = await newUser();
    await logOut((await signedIn(fresh)).browser);
    const freshOp = await operationOf(fresh, 'user_logout');
    const result = await poll.poller.poll({ maxEvents: 50, returnImmediately: true });
    expect(result.sets.map((set) => set.claims.txn)).toEqual([freshOp.id]);
    const [dead] = await deliveriesWhen(oldOp.id, poll, (delivery) => delivery.status === 'dead');
    expect(dead.lastError).toEqual(expect.any(String));
    await poll.poller.drain();
  });

  it('a long poll with nothing to return answers {"sets": {}} when SSF_LONG_POLL_TIMEOUT has passed (RFC 8936 §2.5)', async () => {
    await poll.poller.drain();
    const started = Date.now();
    const result = await poll.poller.poll({ maxEvents: 10 });
    const elapsed = Date.now() - started;
    expect(result.sets).toEqual([]);
    expect(result.moreAvailable).toBe(false);
    expect(elapsed).toBeGreaterThanOrEqual(1_800);
    expect(elapsed).toBeLessThan(6_000);
  });

  it("bounds events held for a paused push stream as it bounds polls: the oldest end dead in the worker's sweep", async () => {
    const push = await pushStream('held-bounded');
    await push.streams.setStatus(push.stream.stream_id, 'paused');
    const operations: string[] = [];
    for (let i = 0; i < 4; i++) {
      const user = await newUser();
      await logOut((await signedIn(user)).browser);
      operations.push((await operationOf(user, 'user_logout')).id);
    }
    // The worker's sweep (every ten relay passes, about ten seconds) ends the oldest beyond SSF_POLL_MAX_EVENTS.
    const [dead] = await deliveriesWhen(operations[0], push, (delivery) => delivery.status === 'dead', 25_000);
    expect(dead.lastError).toContain('SSF_POLL_MAX_EVENTS');
    for (const id of operations.slice(1)) await deliveriesWhen(id, push, (delivery) => delivery.status === 'held');
    await push.streams.setStatus(push.stream.stream_id, 'enabled');
    for (const id of operations.slice(1)) await deliveriesWhen(id, push, (delivery) => delivery.status === 'succeeded');
    expect(push.receiver.violations).toEqual([]);
    await retire(push);
    await poll.poller.drain();
  });
});
