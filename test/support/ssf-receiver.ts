// A Shared Signals receiver written from the specifications, not from Signoff's code: OpenID Shared
// Signals Framework 1.0 (SSF), CAEP 1.0, RISC 1.0, RFC 8417 (SET), RFC 8935 (push), RFC 8936 (poll) and
// RFC 9493 (subject identifiers). Nothing here imports Signoff: what it checks is what any transmitter
// owes any receiver. It relaxes one rule only, for tests on 127.0.0.1: http URLs on a loopback host are
// accepted where SSF §7.1 asks for https.
import {
  createRemoteJWKSet,
  decodeJwt,
  errors as joseErrors,
  type JWTHeaderParameters,
  type JWTPayload,
  jwtVerify,
} from 'jose';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** SSF §6.1: the delivery method URIs. */
export const PUSH = 'urn:ietf:rfc:8935';
export const POLL = 'urn:ietf:rfc:8936';

/** The event types this receiver understands (CAEP §3.1, §3.3; RISC §2.3, §2.4; SSF §8.1.4.1, §8.1.5). */
export const EVENT = {
  sessionRevoked: 'https://schemas.openid.net/secevent/caep/event-type/session-revoked',
  credentialChange: 'https://schemas.openid.net/secevent/caep/event-type/credential-change',
  accountDisabled: 'https://schemas.openid.net/secevent/risc/event-type/account-disabled',
  accountEnabled: 'https://schemas.openid.net/secevent/risc/event-type/account-enabled',
  verification: 'https://schemas.openid.net/secevent/ssf/event-type/verification',
  streamUpdated: 'https://schemas.openid.net/secevent/ssf/event-type/stream-updated',
} as const;

/** Event types a transmitter MAY send on any stream, whatever `events_delivered` says (SSF §8.1.4, §8.1.5). */
const STREAM_EVENTS: readonly string[] = [EVENT.verification, EVENT.streamUpdated];

/** RFC 8935 §2.4 and the IANA "Security Event Token Error Codes" registry, plus SSF §11's invalid_state. */
export type SetErrorCode =
  | 'invalid_request'
  | 'invalid_key'
  | 'invalid_issuer'
  | 'invalid_audience'
  | 'authentication_failed'
  | 'access_denied'
  | 'invalid_state';

/** RFC 9493 §3 (simple formats) and SSF §3.3 (complex): a `format` and its members. */
export type SubjectIdentifier = { format: string } & Record<string, unknown>;

/** SSF §7.1: Transmitter Configuration Metadata. */
export interface TransmitterMetadata {
  spec_version?: string;
  issuer: string;
  jwks_uri?: string;
  delivery_methods_supported?: string[];
  configuration_endpoint?: string;
  status_endpoint?: string;
  add_subject_endpoint?: string;
  remove_subject_endpoint?: string;
  verification_endpoint?: string;
  critical_subject_members?: string[];
  authorization_schemes?: Array<{ spec_urn: string }>;
  default_subjects?: string;
  [other: string]: unknown;
}

/** SSF §8.1.1: a Stream Configuration. */
export interface StreamConfiguration {
  stream_id: string;
  iss: string;
  aud: string | string[];
  events_supported?: string[];
  events_requested?: string[];
  events_delivered: string[];
  delivery: { method: string; endpoint_url?: string; authorization_header?: string; [other: string]: unknown };
  description?: string;
  min_verification_interval?: number;
  inactivity_timeout?: number;
  [other: string]: unknown;
}

/** SSF §8.1.2: a stream's status. */
export interface StreamStatus {
  stream_id: string;
  status: 'enabled' | 'paused' | 'disabled';
  reason?: string;
}

/** The claims of a SET once verified (RFC 8417 §2.2, SSF §4). */
export interface SetClaims extends JWTPayload {
  iss: string;
  jti: string;
  iat: number;
  txn?: string;
  sub_id: SubjectIdentifier;
  events: Record<string, Record<string, unknown>>;
}

/** A SET this receiver accepted: the token, its parts, and how it came. */
export interface ReceivedSet {
  raw: string;
  jti: string;
  header: JWTHeaderParameters;
  claims: SetClaims;
  /** The one event type of `events`, and its payload. */
  type: string;
  event: Record<string, unknown>;
  via: 'push' | 'poll';
  receivedAt: Date;
}

/** A breach of the specs the receiver saw: a test asserts there were none. */
export interface Violation {
  via: 'push' | 'poll' | 'management';
  jti?: string;
  err: SetErrorCode | 'protocol';
  description: string;
}

/** Why a SET was refused, with the RFC 8935 §2.4 error code the receiver answers with. */
export class SetRejection extends Error {
  constructor(
    readonly err: SetErrorCode,
    readonly description: string,
    readonly jti?: string,
  ) {
    super(`${err}: ${description}`);
  }
}

/** A management, poll or discovery call answered otherwise than the spec says it must be. */
export class UnexpectedAnswer extends Error {
  constructor(
    readonly call: string,
    readonly status: number,
    readonly body: unknown,
    expected: string,
  ) {
    super(`${call}: expected ${expected}, got ${status} ${JSON.stringify(body)?.slice(0, 500)}`);
  }
}

/** Polls `probe` every 50 ms until it returns a truthy value, which it returns; throws after `timeoutMs`. */
export async function waitFor<T>(
  probe: () => T | Promise<T>,
  timeoutMs = 10_000,
  what = 'a condition',
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// ---------------------------------------------------------------------------------------------------
// Discovery (SSF §7)

/**
 * SSF §7.2.1: the well-known URI is formed by inserting `/.well-known/ssf-configuration` between the
 * host and the path of the issuer (RFC 8615 style), after removing a terminating `/` from the path.
 */
export function configurationUrl(issuer: string): string {
  const url = new URL(issuer);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  return `${url.origin}/.well-known/ssf-configuration${path}`;
}

const isLoopbackHttp = (url: URL) =>
  url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);

/** SSF §7.1: an https URL (here http on a loopback host too), without query or fragment when `bare`. */
function urlProblem(value: unknown, name: string, bare = false): string | null {
  if (typeof value !== 'string' || value === '') return `${name} must be a non-empty string`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `${name} is not a URL: ${value}`;
  }
  if (url.protocol !== 'https:' && !isLoopbackHttp(url)) return `${name} must use https: ${value}`;
  if (bare && (url.search !== '' || url.hash !== '' || value.includes('?') || value.includes('#')))
    return `${name} must have no query or fragment: ${value}`;
  return null;
}

/**
 * What is wrong with Transmitter Configuration Metadata fetched for `issuer` (SSF §7.1, §7.2.3,
 * §7.2.4): the issuer must be identical to the one used to fetch it; claims with zero elements must be
 * omitted; endpoints are URLs; `authorization_schemes` are objects with a `spec_urn`; `default_subjects`
 * is ALL or NONE. Returns the problems, none when all is well.
 */
export function metadataProblems(metadata: TransmitterMetadata, issuer: string): string[] {
  const problems: string[] = [];
  if (metadata.issuer !== issuer) problems.push(`issuer ${JSON.stringify(metadata.issuer)} is not ${issuer}`);
  const issuerProblem = urlProblem(metadata.issuer, 'issuer', true);
  if (issuerProblem) problems.push(issuerProblem);
  for (const [name, value] of Object.entries(metadata))
    if (Array.isArray(value) && value.length === 0) problems.push(`${name} is an empty array (§7.2.3: omit it)`);
  for (const name of [
    'jwks_uri',
    'configuration_endpoint',
    'status_endpoint',
    'add_subject_endpoint',
    'remove_subject_endpoint',
    'verification_endpoint',
  ]) {
    if (metadata[name] === undefined) continue;
    const problem = urlProblem(metadata[name], name);
    if (problem) problems.push(problem);
  }
  if (metadata.spec_version !== undefined && typeof metadata.spec_version !== 'string')
    problems.push('spec_version must be a string');
  const strings = (name: string) => {
    const value = metadata[name];
    if (value !== undefined && (!Array.isArray(value) || value.some((item) => typeof item !== 'string' || !item)))
      problems.push(`${name} must be an array of non-empty strings`);
  };
  strings('delivery_methods_supported');
  strings('critical_subject_members');
  if (metadata.authorization_schemes !== undefined) {
    const schemes = metadata.authorization_schemes as unknown;
    if (
      !Array.isArray(schemes) ||
      schemes.some((scheme) => !isObject(scheme) || typeof scheme.spec_urn !== 'string' || !scheme.spec_urn)
    )
      problems.push('authorization_schemes must be objects with a spec_urn (§7.1.1)');
  }
  if (metadata.default_subjects !== undefined && !['ALL', 'NONE'].includes(metadata.default_subjects))
    problems.push(`default_subjects must be ALL or NONE, not ${JSON.stringify(metadata.default_subjects)}`);
  return problems;
}

/**
 * Fetches the Transmitter Configuration Metadata of `issuer` (SSF §7.2: a GET, 200, application/json)
 * and checks it with metadataProblems; throws when anything is wrong.
 */
export async function discover(issuer: string): Promise<TransmitterMetadata> {
  const url = configurationUrl(issuer);
  const response = await fetch(url, { headers: { accept: 'application/json' } });
  const text = await response.text();
  if (response.status !== 200) throw new UnexpectedAnswer(`GET ${url}`, response.status, text, '200');
  if (!isJsonType(response.headers.get('content-type')))
    throw new Error(`GET ${url}: Content-Type ${response.headers.get('content-type')} is not application/json`);
  const metadata = JSON.parse(text) as TransmitterMetadata;
  const problems = metadataProblems(metadata, issuer);
  if (problems.length) throw new Error(`GET ${url}: ${problems.join('; ')}`);
  return metadata;
}

// ---------------------------------------------------------------------------------------------------
// Subject identifiers (RFC 9493 §3, SSF §3)

const nonEmptyString = (value: unknown): value is string => typeof value === 'string' && value.length > 0;
function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
const isJsonType = (contentType: string | null | undefined) =>
  (contentType ?? '').split(';')[0].trim().toLowerCase() === 'application/json';

/** The members each simple format requires (RFC 9493 §3.2; SSF §3.5): each "REQUIRED and MUST NOT be null or empty". */
const SIMPLE_FORMATS: Record<string, string[]> = {
  account: ['uri'],
  email: ['email'],
  iss_sub: ['iss', 'sub'],
  opaque: ['id'],
  phone_number: ['phone_number'],
  did: ['url'],
  uri: ['uri'],
  jwt_id: ['iss', 'jti'],
  saml_assertion_id: ['issuer', 'assertion_id'],
};

/**
 * What is wrong with a subject identifier (RFC 9493 §3; SSF §3.2-§3.5), or null. `complex` (SSF §3.3)
 * needs at least one member besides `format`, each a simple identifier; `aliases` (RFC 9493 §3.2.1)
 * holds simple identifiers, never aliases.
 */
export function subjectProblem(subject: unknown, path = 'sub_id', nested = false): string | null {
  if (!isObject(subject)) return `${path} must be a JSON object`;
  const format = subject.format;
  if (!nonEmptyString(format)) return `${path}.format must be a non-empty string`;
  if (format === 'complex') {
    if (nested) return `${path}: a complex subject cannot be a member of another`;
    const members = Object.entries(subject).filter(([name]) => name !== 'format');
    if (members.length === 0) return `${path}: a complex subject needs at least one member (SSF §3.3)`;
    for (const [name, member] of members) {
      const problem = subjectProblem(member, `${path}.${name}`, true);
      if (problem) return problem;
    }
    return null;
  }
  if (format === 'aliases') {
    const identifiers = subject.identifiers;
    if (!Array.isArray(identifiers) || identifiers.length === 0)
      return `${path}.identifiers must be a non-empty array (RFC 9493 §3.2.1)`;
    for (const [index, identifier] of identifiers.entries()) {
      if (isObject(identifier) && identifier.format === 'aliases') return `${path}: aliases must not nest`;
      const problem = subjectProblem(identifier, `${path}.identifiers[${index}]`, true);
      if (problem) return problem;
    }
    return null;
  }
  if (format === 'ip-addresses') {
    const addresses = subject['ip-addresses'];
    if (!Array.isArray(addresses) || addresses.length === 0 || !addresses.every(nonEmptyString))
      return `${path}["ip-addresses"] must be a non-empty array of strings (SSF §3.5.3)`;
    return null;
  }
  const required = SIMPLE_FORMATS[format];
  if (!required) return `${path}.format ${JSON.stringify(format)} is not a format this receiver knows (SSF §3.4)`;
  for (const member of required)
    if (!nonEmptyString(subject[member])) return `${path}.${member} must be a non-empty string (RFC 9493 §3.2)`;
  if (format === 'email' && !/^[^\s@]+@[^\s@]+$/.test(subject.email as string))
    return `${path}.email is not an addr-spec (RFC 9493 §3.2.2)`;
  if (format === 'phone_number' && !/^\+[1-9]\d{1,14}$/.test(subject.phone_number as string))
    return `${path}.phone_number is not E.164 (RFC 9493 §3.2.5)`;
  if (format === 'account' && !/^acct:/.test(subject.uri as string))
    return `${path}.uri must be an acct: URI (RFC 9493 §3.2.1)`;
  if (format === 'did' && !/^did:/.test(subject.url as string))
    return `${path}.url must be a DID URL (RFC 9493 §3.2.6)`;
  return null;
}

// ---------------------------------------------------------------------------------------------------
// Event payloads (CAEP §2, §3; RISC §2; SSF §8.1.4.1, §8.1.5)

const INITIATING_ENTITIES = ['admin', 'user', 'policy', 'system'];
const CREDENTIAL_TYPES = [
  'password',
  'pin',
  'x509',
  'fido2-platform',
  'fido2-roaming',
  'fido-u2f',
  'verifiable-credential',
  'phone-voice',
  'phone-sms',
  'app',
];
const CHANGE_TYPES = ['create', 'revoke', 'update', 'delete'];
const STATUSES = ['enabled', 'paused', 'disabled'];
/** RFC 5646 (BCP47) in its general shape: primary subtag, then subtags. */
const LANGUAGE_TAG = /^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$/;

/** CAEP §2: reason_admin / reason_user are objects of one or more language-tag → string pairs. */
function reasonProblem(value: unknown, name: string): string | null {
  if (!isObject(value) || Object.keys(value).length === 0)
    return `${name} must be an object with one or more language-tagged strings (CAEP §2)`;
  for (const [tag, text] of Object.entries(value)) {
    if (!LANGUAGE_TAG.test(tag)) return `${name}: ${JSON.stringify(tag)} is not a BCP47 language tag`;
    if (!nonEmptyString(text)) return `${name}.${tag} must be a non-empty string`;
  }
  return null;
}

/** CAEP §2's common optional claims; `reasonAdminRequired` for the CAEP Interoperability Profile (§3.1, §3.2). */
function caepCommonProblem(
  event: Record<string, unknown>,
  nowSec: number,
  reasonAdminRequired: boolean,
): string | null {
  if (event.event_timestamp !== undefined) {
    const at = event.event_timestamp;
    if (typeof at !== 'number' || !Number.isFinite(at)) return 'event_timestamp must be a JSON number';
    // Seconds since the epoch (CAEP §2); a millisecond value is ~1000 times too large.
    if (at > 1e11) return `event_timestamp ${at} is not in seconds`;
    if (at > nowSec + 60) return `event_timestamp ${at} is in the future`;
  }
  if (event.initiating_entity !== undefined && !INITIATING_ENTITIES.includes(event.initiating_entity as string))
    return `initiating_entity must be one of ${INITIATING_ENTITIES.join(', ')} (CAEP §2)`;
  if (event.reason_admin !== undefined || reasonAdminRequired) {
    const problem = reasonProblem(event.reason_admin, 'reason_admin');
    if (problem) return problem;
  }
  if (event.reason_user !== undefined) {
    const problem = reasonProblem(event.reason_user, 'reason_user');
    if (problem) return problem;
  }
  return null;
}

/** What is wrong with an event's payload for its type, or null (the type is known to the caller). */
function eventProblem(type: string, event: Record<string, unknown>, nowSec: number, interop: boolean): string | null {
  switch (type) {
    case EVENT.sessionRevoked:
      // CAEP §3.1: no event-specific claims; the CAEP Interoperability Profile §3.1 makes reason_admin a MUST.
      return caepCommonProblem(event, nowSec, interop);
    case EVENT.credentialChange: {
      if (!nonEmptyString(event.credential_type) || !CREDENTIAL_TYPES.includes(event.credential_type))
        return `credential_type must be one of ${CREDENTIAL_TYPES.join(', ')} (CAEP §3.3)`;
      if (!CHANGE_TYPES.includes(event.change_type as string))
        return `change_type must be one of ${CHANGE_TYPES.join(', ')} (CAEP §3.3)`;
      for (const name of ['friendly_name', 'x509_issuer', 'x509_serial', 'fido2_aaguid'])
        if (event[name] !== undefined && typeof event[name] !== 'string') return `${name} must be a string`;
      return caepCommonProblem(event, nowSec, interop);
    }
    case EVENT.accountDisabled:
      // RISC §2.3: reason is optional, and hijacking or bulk-account when present.
      if (event.reason !== undefined && !['hijacking', 'bulk-account'].includes(event.reason as string))
        return 'reason must be hijacking or bulk-account (RISC §2.3)';
      return null;
    case EVENT.accountEnabled:
      return null; // RISC §2.4: "Attributes: none"; fields a receiver does not understand are ignored (SSF §4.2.3).
    case EVENT.verification:
      if (event.state !== undefined && typeof event.state !== 'string') return 'state must be a string (SSF §8.1.4.1)';
      return null;
    case EVENT.streamUpdated:
      if (!STATUSES.includes(event.status as string)) return 'status must be enabled, paused or disabled (SSF §8.1.5)';
      if (event.reason !== undefined && typeof event.reason !== 'string') return 'reason must be a string';
      return null;
    default:
      return `event type ${type} is not one this receiver understands`;
  }
}

// ---------------------------------------------------------------------------------------------------
// Verifying a SET

/** Who the receiver is and what it expects of the SETs it gets. */
export interface SetVerifierOptions {
  /** The transmitter's metadata (discover()): its issuer is the only accepted `iss`, its jwks_uri the keys. */
  metadata: TransmitterMetadata;
  /** The receiver's audience: the stream's `aud` (SSF §8.1.1). */
  audience: string | string[];
  /** The receiver's clock (the app's test clock when it is moved). */
  now?: () => Date;
  /** Seconds of clock skew allowed for `iat`. */
  clockToleranceSec?: number;
  /** Enforce the CAEP Interoperability Profile's extra MUSTs (reason_admin present). Default true. */
  interop?: boolean;
}

/**
 * Verifies SETs as SSF §4, RFC 8417 §2 and RFC 8935 §2 tell a receiver to: the signature with the
 * transmitter's keys (jwks_uri), explicit typing `secevent+jwt` (SSF §4.1.1), RS256 (CAEP Interop §2.6),
 * `iss` = the metadata issuer = the stream's `iss` (SSF §4.1.6), `aud` = the stream's (SSF §4.1.8), `iat`
 * present and not in the future, a `jti`, no `sub` (SSF §4.1.2), no `exp` (SSF §4.1.7), a top-level
 * `sub_id` (SSF §3.1), exactly one event (SSF §4.2.1, CAEP Interop §2.8.1) of a type the stream delivers,
 * and the event's schema. Rejections carry RFC 8935 §2.4 error codes.
 */
export class SetVerifier {
  private readonly jwks: ReturnType<typeof createRemoteJWKSet>;
  private readonly now: () => Date;
  /** Set once the stream exists (bindStream): verification and stream-updated events name it. */
  streamId: string | undefined;
  /** The stream's events_delivered (bindStream): what it may carry besides verification and stream-updated. */
  eventsDelivered: string[] | undefined;
  /** The `state` values this receiver sent with verification requests (SSF §8.1.4.2). */
  readonly states = new Set<string>();

  constructor(readonly options: SetVerifierOptions) {
    if (!options.metadata.jwks_uri) throw new Error('the transmitter publishes no jwks_uri: it cannot sign SETs');
    this.jwks = createRemoteJWKSet(new URL(options.metadata.jwks_uri));
    this.now = options.now ?? (() => new Date());
  }

  /** Adopts a stream's configuration: its id and what it delivers. Its `iss` and `aud` must be ours. */
  bindStream(stream: StreamConfiguration): void {
    if (stream.iss !== this.options.metadata.issuer)
      throw new Error(`stream iss ${stream.iss} is not the issuer ${this.options.metadata.issuer} (SSF §8.1.1.1.1)`);
    this.streamId = stream.stream_id;
    this.eventsDelivered = stream.events_delivered;
  }

  async verify(token: string): Promise<Omit<ReceivedSet, 'via' | 'receivedAt'>> {
    const { metadata, audience } = this.options;
    const tolerance = this.options.clockToleranceSec ?? 5;
    let verified: Awaited<ReturnType<typeof jwtVerify>>;
    try {
      verified = await jwtVerify(token, this.jwks, {
        typ: 'secevent+jwt',
        algorithms: ['RS256'],
        issuer: metadata.issuer,
        audience,
        currentDate: this.now(),
        clockTolerance: tolerance,
      });
    } catch (error) {
      throw rejectionOf(error);
    }
    const { payload, protectedHeader } = verified;
    const jti = typeof payload.jti === 'string' ? payload.jti : undefined;
    const reject = (err: SetErrorCode, description: string) => new SetRejection(err, description, jti);
    if (!nonEmptyString(payload.jti)) throw reject('invalid_request', 'jti must be a non-empty string (RFC 8417 §2.2)');
    if (typeof payload.iat !== 'number') throw reject('invalid_request', 'iat is required (RFC 8417 §2.2)');
    const nowSec = this.now().getTime() / 1000;
    if (payload.iat > nowSec + tolerance) throw reject('invalid_request', `iat ${payload.iat} is in the future`);
    if ('sub' in payload) throw reject('invalid_request', 'a SET with an SSF event must not carry sub (SSF §4.1.2)');
    if ('exp' in payload) throw reject('invalid_request', 'exp must not be used in SETs (SSF §4.1.7)');
    if (payload.txn !== undefined && !nonEmptyString(payload.txn))
      throw reject('invalid_request', 'txn must be a non-empty string (RFC 8417 §2.2)');
    // SSF §4.1.8: the SET's audience values identify this receiver, and no other.
    const wanted = new Set(Array.isArray(audience) ? audience : [audience]);
    const given = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    if (given.some((value) => !wanted.has(value as string)))
      throw reject('invalid_audience', `aud ${JSON.stringify(payload.aud)} names another receiver too`);
    if (!('sub_id' in payload)) throw reject('invalid_request', 'sub_id is required (SSF §3.1)');
    const subject = subjectProblem(payload.sub_id);
    if (subject) throw reject('invalid_request', subject);
    if (!isObject(payload.events)) throw reject('invalid_request', 'events must be a JSON object (RFC 8417 §2.2)');
    const types = Object.keys(payload.events);
    if (types.length !== 1)
      throw reject('invalid_request', `exactly one event per SET, not ${types.length} (SSF §4.2.1)`);
    const [type] = types;
    const event = payload.events[type];
    if (!isObject(event)) throw reject('invalid_request', 'an event payload must be a JSON object (RFC 8417 §2.2)');
    if (!STREAM_EVENTS.includes(type) && this.eventsDelivered && !this.eventsDelivered.includes(type))
      throw reject('invalid_request', `${type} is not in the stream's events_delivered (SSF §8.1.1)`);
    const problem = eventProblem(type, event, nowSec, this.options.interop ?? true);
    if (problem) throw reject('invalid_request', problem);
    // SSF §3.6: members named critical by the transmitter must be understood (subjectProblem checked them).
    const subId = payload.sub_id as SubjectIdentifier;
    if (STREAM_EVENTS.includes(type)) {
      // SSF §8.1.4.1, §8.1.5: "a simple value of type opaque", whose id is the stream_id.
      if (subId.format !== 'opaque' || (this.streamId !== undefined && subId.id !== this.streamId))
        throw reject('invalid_request', `sub_id ${JSON.stringify(subId)} must be opaque with the stream_id`);
    }
    if (type === EVENT.verification && event.state !== undefined && !this.states.has(event.state as string))
      throw reject('invalid_state', `state ${JSON.stringify(event.state)} was never sent (SSF §8.1.4.1)`);
    return { raw: token, jti: payload.jti, header: protectedHeader, claims: payload as SetClaims, type, event };
  }
}

/** jose's errors as RFC 8935 §2.4 error codes. */
function rejectionOf(error: unknown): SetRejection {
  const message = (error as Error).message ?? String(error);
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === 'iss') return new SetRejection('invalid_issuer', message);
    if (error.claim === 'aud') return new SetRejection('invalid_audience', message);
    return new SetRejection('invalid_request', message);
  }
  if (
    error instanceof joseErrors.JWSSignatureVerificationFailed ||
    error instanceof joseErrors.JWKSNoMatchingKey ||
    error instanceof joseErrors.JOSEAlgNotAllowed
  )
    return new SetRejection('invalid_key', message);
  return new SetRejection('invalid_request', message);
}

/** JSON with sorted keys: two SETs with the same `jti` carry "the same payload" when these are equal. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isObject(value))
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`)
      .join(',')}}`;
  return JSON.stringify(value);
}

/**
 * The SETs a receiver has, by `jti` (RFC 8417 §2.2: unique within an event feed). A repeat with the same
 * claims is a redelivery (RFC 8935 §2, RFC 8936 §2.4: answered as the first time, counted, not kept
 * twice); a repeat with other claims is a violation.
 */
class SetLedger {
  readonly sets: ReceivedSet[] = [];
  readonly violations: Violation[] = [];
  redeliveries = 0;
  private readonly byJti = new Map<string, string>();

  record(set: ReceivedSet): 'new' | 'repeat' | 'conflict' {
    const claims = canonical(set.claims);
    const seen = this.byJti.get(set.jti);
    if (seen === undefined) {
      this.byJti.set(set.jti, claims);
      this.sets.push(set);
      return 'new';
    }
    if (seen === claims) {
      this.redeliveries++;
      return 'repeat';
    }
    this.violations.push({
      via: set.via,
      jti: set.jti,
      err: 'invalid_request',
      description: `jti ${set.jti} came again with another payload (RFC 8417 §2.2: unique)`,
    });
    return 'conflict';
  }
}

/** What a test reads of a receiver: the SETs it accepted and what went wrong. */
abstract class SetCollector {
  protected readonly ledger = new SetLedger();

  constructor(readonly verifier: SetVerifier) {}

  /** Every SET accepted, once each, in arrival order. */
  get sets(): readonly ReceivedSet[] {
    return this.ledger.sets;
  }
  /** Every breach of the specs seen: SETs refused, wrong headers, reused jti with another payload. */
  get violations(): readonly Violation[] {
    return this.ledger.violations;
  }
  /** SETs that came again (same jti, same payload) after they were accepted. */
  get redeliveries(): number {
    return this.ledger.redeliveries;
  }

  /** The accepted SETs of one event type, optionally about one subject (sub_id, or its `user` member). */
  setsOf(type: string, user?: SubjectIdentifier): ReceivedSet[] {
    return this.ledger.sets.filter((set) => set.type === type && (!user || sameUser(set.claims.sub_id, user)));
  }

  /** The accepted SETs about one user (the sub_id, or the `user` member of a complex sub_id). */
  setsAbout(user: SubjectIdentifier): ReceivedSet[] {
    return this.ledger.sets.filter((set) => sameUser(set.claims.sub_id, user));
  }

  /** Waits until `probe(this)` is truthy and returns it (see waitFor). */
  waitFor<T>(probe: (self: this) => T | Promise<T>, timeoutMs = 10_000, what = 'SETs'): Promise<NonNullable<T>> {
    return waitFor(() => probe(this), timeoutMs, what);
  }
}

/**
 * SSF §8.1.3.1: simple subjects match when identical; here a complex subject's `user` member stands for
 * the user it is about.
 */
export function sameUser(subject: SubjectIdentifier, user: SubjectIdentifier): boolean {
  const about = subject.format === 'complex' ? (subject.user as SubjectIdentifier | undefined) : subject;
  return about !== undefined && canonical(about) === canonical(user);
}

// ---------------------------------------------------------------------------------------------------
// Push (RFC 8935)

/** How the push endpoint fails while down: 503 answers, or connections closed without an answer. */
export type DownMode = '503' | 'close';

export interface PushReceiverOptions {
  verifier: SetVerifier;
  /**
   * The exact `Authorization` header the stream was configured with (SSF §6.1.1: sent with every request),
   * or null when none was: then the request must carry none.
   */
  authorizationHeader: string | null;
}

/**
 * An RFC 8935 push endpoint on 127.0.0.1 (`url`): checks each request's headers (§2.1; SSF §6.1.1),
 * verifies the SET (SetVerifier), answers 202 with an empty body (§2.2) — also for a redelivery — or 400
 * with a JSON `{err, description}` and `Content-Language` (§2.3) and records the violation.
 */
export class SsfPushReceiver extends SetCollector {
  /** Where the transmitter must push: the stream's delivery.endpoint_url. */
  url = '';
  /** POSTs that reached the endpoint, whatever the answer. */
  requests = 0;
  /** POSTs answered with an error on purpose (down(), answer400()). */
  refused = 0;
  /** The `jti` of each SET refused on purpose, read without verifying it: what a retry must send again. */
  readonly refusedJtis: string[] = [];
  private server!: Server;
  private downMode: DownMode | null = null;
  private scripted400: Array<{ err: SetErrorCode; description: string }> = [];
  private readonly sockets = new Set<Socket>();

  private constructor(private readonly options: PushReceiverOptions) {
    super(options.verifier);
  }

  /** Starts the endpoint on a random port of 127.0.0.1. */
  static async start(options: PushReceiverOptions): Promise<SsfPushReceiver> {
    const receiver = new SsfPushReceiver(options);
    receiver.server = createServer((req, res) => void receiver.handle(req, res));
    receiver.server.on('connection', (socket) => {
      receiver.sockets.add(socket);
      socket.once('close', () => receiver.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
    receiver.url = `http://127.0.0.1:${(receiver.server.address() as AddressInfo).port}/events`;
    return receiver;
  }

  /** From now on, answer 503 (RFC 8935 §2.3: a general HTTP error) or close connections unanswered. */
  down(mode: DownMode = '503'): void {
    this.downMode = mode;
    if (mode === 'close') for (const socket of this.sockets) socket.destroy();
  }

  /** Take SETs again. */
  up(): void {
    this.downMode = null;
  }

  /** Answer the next `count` SETs with 400 and this error code (RFC 8935 §2.3), whatever they are. */
  answer400(err: SetErrorCode, count = 1, description = `refused on purpose: ${err}`): void {
    for (let i = 0; i < count; i++) this.scripted400.push({ err, description });
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path !== '/events') return void res.writeHead(404).end();
    if (req.method !== 'POST') return void res.writeHead(405, { allow: 'POST' }).end();
    const body = await readBounded(req, 1 << 20);
    this.requests++;
    if (this.downMode !== null || this.scripted400.length > 0) this.refusedJtis.push(unverifiedJti(body));
    if (this.downMode === 'close') {
      this.refused++;
      req.socket.destroy();
      return;
    }
    if (this.downMode === '503') {
      this.refused++;
      return void res.writeHead(503, { 'content-type': 'text/plain' }).end('down for maintenance');
    }
    const scripted = this.scripted400.shift();
    if (scripted) {
      this.refused++;
      return this.error(res, scripted.err, scripted.description);
    }
    if (body === null) return this.reject(res, new SetRejection('invalid_request', 'the body is over 1 MiB'));
    // RFC 8935 §2.1: the media types; SSF §6.1.1: the Authorization header exactly as configured, or none.
    const contentType = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (contentType !== 'application/secevent+jwt')
      return this.reject(res, new SetRejection('invalid_request', `Content-Type ${contentType} (RFC 8935 §2.1)`));
    if ((req.headers.accept ?? '').trim().toLowerCase() !== 'application/json')
      return this.reject(res, new SetRejection('invalid_request', `Accept ${req.headers.accept} (RFC 8935 §2.1)`));
    const authorization = req.headers.authorization;
    if (this.options.authorizationHeader === null && authorization !== undefined)
      return this.reject(res, new SetRejection('authentication_failed', 'an Authorization header nobody configured'));
    if (this.options.authorizationHeader !== null && authorization !== this.options.authorizationHeader)
      return this.reject(res, new SetRejection('authentication_failed', 'not the configured Authorization header'));
    let verified: Omit<ReceivedSet, 'via' | 'receivedAt'>;
    try {
      verified = await this.verifier.verify(body.trim());
    } catch (error) {
      return this.reject(
        res,
        error instanceof SetRejection ? error : new SetRejection('invalid_request', String(error)),
      );
    }
    const outcome = this.ledger.record({ ...verified, via: 'push', receivedAt: new Date() });
    if (outcome === 'conflict') return this.error(res, 'invalid_request', `jti ${verified.jti} reused`);
    // RFC 8935 §2.2 (and §2 for a redelivery: "as it would if the SET had not been previously received").
    res.writeHead(202).end();
  }

  private reject(res: ServerResponse, rejection: SetRejection): void {
    this.ledger.violations.push({
      via: 'push',
      jti: rejection.jti,
      err: rejection.err,
      description: rejection.description,
    });
    this.error(res, rejection.err, rejection.description);
  }

  /** RFC 8935 §2.3: 400, application/json, Content-Language, `{err, description}`. */
  private error(res: ServerResponse, err: SetErrorCode, description: string): void {
    res
      .writeHead(400, { 'content-type': 'application/json', 'content-language': 'en' })
      .end(JSON.stringify({ err, description }));
  }
}

/** The `jti` a token claims, unverified (or '' when it is not a JWT): for bookkeeping only. */
function unverifiedJti(token: string | null): string {
  try {
    const jti = decodeJwt((token ?? '').trim()).jti;
    return typeof jti === 'string' ? jti : '';
  } catch {
    return '';
  }
}

/** The body as text, or null when it is longer than `max` bytes (the rest is read and dropped). */
function readBounded(req: IncomingMessage, max: number): Promise<string | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= max) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > max ? null : Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(null));
  });
}

// ---------------------------------------------------------------------------------------------------
// Poll (RFC 8936)

/** RFC 8936 §2.2: a poll request's members. */
export interface PollRequest {
  maxEvents?: number;
  returnImmediately?: boolean;
  ack?: string[];
  setErrs?: Record<string, { err: string; description: string }>;
}

/** One poll's answer, once every SET in it was verified. */
export interface PollResult {
  /** The SETs returned that were accepted (new ones and redeliveries alike). */
  sets: ReceivedSet[];
  /** The SETs returned that were refused, by jti, with why: report them with `setErrs`. */
  rejected: Record<string, SetRejection>;
  moreAvailable: boolean;
}

/**
 * An RFC 8936 poll client against a stream's `delivery.endpoint_url` (transmitter-supplied, SSF §6.1.2),
 * with the receiver's bearer token (SSF §7.1.1: the authorization schemes protect the poll endpoint too).
 * Each answer must be 200 application/json with a `sets` object whose names are the SETs' `jti`s
 * (§2.5); every SET is verified as a pushed one would be.
 */
export class SsfPollClient extends SetCollector {
  /** Poll requests made, and how many SETs came back in all (redeliveries included). */
  polls = 0;
  returned = 0;

  constructor(
    verifier: SetVerifier,
    readonly endpointUrl: string,
    private readonly token: string,
  ) {
    super(verifier);
  }

  /** One poll request (RFC 8936 §2.4); throws UnexpectedAnswer unless 200 with a well-formed body. */
  async poll(request: PollRequest = { returnImmediately: true }): Promise<PollResult> {
    this.polls++;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json',
      authorization: `Bearer ${this.token}`,
    };
    // RFC 8936 §2.6: a request reporting errors carries Content-Language.
    if (request.setErrs) headers['content-language'] = 'en';
    const response = await fetch(this.endpointUrl, { method: 'POST', headers, body: JSON.stringify(request) });
    const text = await response.text();
    const call = `POST ${this.endpointUrl} ${JSON.stringify(request)}`;
    if (response.status !== 200) throw new UnexpectedAnswer(call, response.status, text, '200');
    if (!isJsonType(response.headers.get('content-type')))
      throw new Error(`${call}: Content-Type ${response.headers.get('content-type')} (RFC 8936 §2.5)`);
    const body = JSON.parse(text) as { sets?: unknown; moreAvailable?: unknown };
    if (!isObject(body.sets)) throw new UnexpectedAnswer(call, 200, body, 'a "sets" object (RFC 8936 §2.5)');
    if (body.moreAvailable !== undefined && typeof body.moreAvailable !== 'boolean')
      throw new UnexpectedAnswer(call, 200, body, 'a boolean moreAvailable');
    const entries = Object.entries(body.sets);
    if (request.maxEvents !== undefined && entries.length > request.maxEvents)
      this.ledger.violations.push({
        via: 'poll',
        err: 'protocol',
        description: `${entries.length} SETs for maxEvents ${request.maxEvents} (RFC 8936 §2.2)`,
      });
    this.returned += entries.length;
    const result: PollResult = { sets: [], rejected: {}, moreAvailable: body.moreAvailable === true };
    for (const [jti, token] of entries) {
      try {
        if (typeof token !== 'string') throw new SetRejection('invalid_request', 'a SET must be a JSON string', jti);
        const verified = await this.verifier.verify(token);
        if (verified.jti !== jti)
          throw new SetRejection('invalid_request', `listed as ${jti} but its jti is ${verified.jti} (§2.5)`, jti);
        const set: ReceivedSet = { ...verified, via: 'poll', receivedAt: new Date() };
        if (this.ledger.record(set) !== 'conflict') result.sets.push(set);
      } catch (error) {
        const rejection =
          error instanceof SetRejection ? error : new SetRejection('invalid_request', String(error), jti);
        this.ledger.violations.push({ via: 'poll', jti, err: rejection.err, description: rejection.description });
        result.rejected[jti] = rejection;
      }
    }
    return result;
  }

  /** Acknowledges `jtis` in batches of `batchSize` with ack-only requests (RFC 8936 §2.4.2: maxEvents 0). */
  async ackInBatches(jtis: string[], batchSize: number): Promise<void> {
    for (let i = 0; i < jtis.length; i += batchSize)
      await this.poll({ ack: jtis.slice(i, i + batchSize), maxEvents: 0, returnImmediately: true });
  }

  /**
   * Polls (short polls of `batchSize`) until nothing more is available, acknowledging each batch with the
   * next request (RFC 8936 §2.4.3) and the last with an ack-only one; returns the SETs it got.
   */
  async drain(batchSize = 50): Promise<ReceivedSet[]> {
    const got: ReceivedSet[] = [];
    let ack: string[] = [];
    for (let round = 0; round < 1000; round++) {
      const result = await this.poll({ maxEvents: batchSize, returnImmediately: true, ack });
      got.push(...result.sets);
      ack = result.sets.map((set) => set.jti);
      if (result.sets.length === 0 && Object.keys(result.rejected).length === 0) return got;
    }
    throw new Error('the poll endpoint never ran dry');
  }
}

// ---------------------------------------------------------------------------------------------------
// Stream management (SSF §8)

/** A management call's answer, as it came. */
export interface ManagementAnswer {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed JSON body, or undefined when there was none or it was not JSON. */
  body: unknown;
}

/** Which endpoint of the metadata a call goes to. */
export type ManagementEndpoint =
  | 'configuration_endpoint'
  | 'status_endpoint'
  | 'add_subject_endpoint'
  | 'remove_subject_endpoint'
  | 'verification_endpoint';

/**
 * The receiver's side of SSF §8's stream management API, with the receiver's bearer token (RFC 6750
 * §2.1, in the header only: CAEP Interop §2.7). Each typed call checks the status code and the body's
 * shape the spec gives for success, and throws UnexpectedAnswer otherwise; `request` makes any call
 * and returns the answer as it came, for the refusals a test expects.
 */
export class SsfStreamClient {
  constructor(
    readonly metadata: TransmitterMetadata,
    readonly token: string | null,
    /** The audience the administrator registered this receiver with: every stream's `aud`. */
    readonly audience: string,
  ) {}

  /** Any call to one of the metadata's endpoints; `token` overrides the client's (null: no Authorization). */
  async request(
    method: string,
    endpoint: ManagementEndpoint,
    options: { query?: Record<string, string>; body?: unknown; rawBody?: string; token?: string | null } = {},
  ): Promise<ManagementAnswer> {
    const base = this.metadata[endpoint];
    if (typeof base !== 'string') throw new Error(`the transmitter publishes no ${endpoint}`);
    const url = new URL(base);
    for (const [name, value] of Object.entries(options.query ?? {})) url.searchParams.set(name, value);
    const token = options.token === undefined ? this.token : options.token;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (token !== null) headers.authorization = `Bearer ${token}`;
    let payload: string | undefined;
    if (options.rawBody !== undefined || options.body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = options.rawBody ?? JSON.stringify(options.body);
    }
    const response = await fetch(url, { method, headers, body: payload });
    const text = await response.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    return { status: response.status, headers: response.headers, text, body };
  }

  /** SSF §8.1.1.1: POST → 201 with the whole configuration. */
  async create(body: Record<string, unknown>): Promise<StreamConfiguration> {
    const answer = await this.request('POST', 'configuration_endpoint', { body });
    return this.stream(answer, 201, `create ${JSON.stringify(body)}`);
  }

  /** SSF §8.1.1.2: GET ?stream_id → 200 with the object. */
  async read(streamId: string): Promise<StreamConfiguration> {
    const answer = await this.request('GET', 'configuration_endpoint', { query: { stream_id: streamId } });
    return this.stream(answer, 200, `read ${streamId}`);
  }

  /** SSF §8.1.1.2: GET without stream_id → 200 with an array of this receiver's streams ([] when none). */
  async readAll(): Promise<StreamConfiguration[]> {
    const answer = await this.request('GET', 'configuration_endpoint');
    this.json(answer, 200, 'read all');
    if (!Array.isArray(answer.body)) throw new UnexpectedAnswer('read all', answer.status, answer.body, 'an array');
    for (const stream of answer.body) this.checkStream(stream as StreamConfiguration, 'read all');
    return answer.body as StreamConfiguration[];
  }

  /** SSF §8.1.1.3: PATCH → 200 with the whole updated configuration. */
  async update(body: Record<string, unknown> & { stream_id: string }): Promise<StreamConfiguration> {
    const answer = await this.request('PATCH', 'configuration_endpoint', { body });
    return this.stream(answer, 200, `update ${JSON.stringify(body)}`);
  }

  /** SSF §8.1.1.4: PUT → 200 with the whole configuration. */
  async replace(body: Record<string, unknown> & { stream_id: string }): Promise<StreamConfiguration> {
    const answer = await this.request('PUT', 'configuration_endpoint', { body });
    return this.stream(answer, 200, `replace ${JSON.stringify(body)}`);
  }

  /** SSF §8.1.1.5: DELETE ?stream_id → 204, no body. */
  async deleteStream(streamId: string): Promise<void> {
    const answer = await this.request('DELETE', 'configuration_endpoint', { query: { stream_id: streamId } });
    this.empty(answer, 204, `delete ${streamId}`);
  }

  /** SSF §8.1.2.1: GET ?stream_id → 200 `{stream_id, status, reason?}`. */
  async status(streamId: string): Promise<StreamStatus> {
    const answer = await this.request('GET', 'status_endpoint', { query: { stream_id: streamId } });
    return this.statusOf(answer, streamId, `status of ${streamId}`);
  }

  /** SSF §8.1.2.2: POST → 200 with the same fields. */
  async setStatus(streamId: string, status: StreamStatus['status'], reason?: string): Promise<StreamStatus> {
    const body = { stream_id: streamId, status, ...(reason === undefined ? {} : { reason }) };
    const answer = await this.request('POST', 'status_endpoint', { body });
    const result = this.statusOf(answer, streamId, `set status ${JSON.stringify(body)}`);
    if (result.status !== status) throw new UnexpectedAnswer('set status', answer.status, answer.body, status);
    return result;
  }

  /** SSF §8.1.3.2: POST → 200. */
  async addSubject(streamId: string, subject: SubjectIdentifier, verified?: boolean): Promise<void> {
    const body = { stream_id: streamId, subject, ...(verified === undefined ? {} : { verified }) };
    const answer = await this.request('POST', 'add_subject_endpoint', { body });
    if (answer.status !== 200) throw new UnexpectedAnswer('add subject', answer.status, answer.body, '200');
  }

  /** SSF §8.1.3.3: POST → 204. */
  async removeSubject(streamId: string, subject: SubjectIdentifier): Promise<void> {
    const answer = await this.request('POST', 'remove_subject_endpoint', { body: { stream_id: streamId, subject } });
    this.empty(answer, 204, 'remove subject');
  }

  /** SSF §8.1.4.2: POST → 204; the state goes into `verifier` so that the echo is recognised. */
  async verify(streamId: string, state: string | undefined, verifier: SetVerifier): Promise<void> {
    if (state !== undefined) verifier.states.add(state);
    const body = { stream_id: streamId, ...(state === undefined ? {} : { state }) };
    const answer = await this.request('POST', 'verification_endpoint', { body });
    this.empty(answer, 204, `verify ${JSON.stringify(body)}`);
  }

  /**
   * What is wrong with a stream configuration the transmitter returned (SSF §8.1.1), or null: the
   * REQUIRED stream_id (RFC 3986 §2.3 characters), iss = the issuer, aud = this receiver's audience,
   * events_delivered ⊆ events_supported ∩ events_requested, a delivery with a method and, for poll, the
   * transmitter's endpoint_url; description a string; min_verification_interval an integer.
   */
  streamProblem(stream: StreamConfiguration): string | null {
    if (!isObject(stream)) return 'not a JSON object';
    if (!nonEmptyString(stream.stream_id) || !/^[A-Za-z0-9\-._~]+$/.test(stream.stream_id))
      return `stream_id ${JSON.stringify(stream.stream_id)} is not a string of unreserved characters`;
    if (stream.iss !== this.metadata.issuer) return `iss ${stream.iss} is not the issuer ${this.metadata.issuer}`;
    const aud = Array.isArray(stream.aud) ? stream.aud : [stream.aud];
    if (aud.length === 0 || aud.some((value) => value !== this.audience))
      return `aud ${JSON.stringify(stream.aud)} is not ${this.audience}`;
    if (!Array.isArray(stream.events_delivered)) return 'events_delivered is REQUIRED (an array)';
    for (const type of stream.events_delivered) {
      if (stream.events_supported && !stream.events_supported.includes(type))
        return `events_delivered has ${type}, which is not in events_supported`;
      if (stream.events_requested && !stream.events_requested.includes(type))
        return `events_delivered has ${type}, which is not in events_requested`;
    }
    if (!isObject(stream.delivery) || !nonEmptyString(stream.delivery.method)) return 'delivery.method is REQUIRED';
    if (stream.delivery.method === POLL) {
      const problem = urlProblem(stream.delivery.endpoint_url, 'delivery.endpoint_url');
      if (problem) return `${problem} (SSF §6.1.2: the transmitter supplies it for poll)`;
    }
    if (stream.description !== undefined && typeof stream.description !== 'string') return 'description not a string';
    if (stream.min_verification_interval !== undefined && !Number.isInteger(stream.min_verification_interval))
      return 'min_verification_interval must be an integer';
    return null;
  }

  private checkStream(stream: StreamConfiguration, call: string): void {
    const problem = this.streamProblem(stream);
    if (problem) throw new UnexpectedAnswer(call, 200, stream, `a valid stream configuration (${problem})`);
  }

  private stream(answer: ManagementAnswer, status: number, call: string): StreamConfiguration {
    this.json(answer, status, call);
    this.checkStream(answer.body as StreamConfiguration, call);
    return answer.body as StreamConfiguration;
  }

  private statusOf(answer: ManagementAnswer, streamId: string, call: string): StreamStatus {
    this.json(answer, 200, call);
    const body = answer.body as StreamStatus;
    if (!isObject(body) || body.stream_id !== streamId || !STATUSES.includes(body.status))
      throw new UnexpectedAnswer(call, answer.status, body, '{stream_id, status}');
    if (body.reason !== undefined && typeof body.reason !== 'string')
      throw new UnexpectedAnswer(call, answer.status, body, 'a string reason');
    return body;
  }

  private json(answer: ManagementAnswer, status: number, call: string): void {
    if (answer.status !== status)
      throw new UnexpectedAnswer(call, answer.status, answer.body ?? answer.text, `${status}`);
    if (!isJsonType(answer.headers.get('content-type')))
      throw new UnexpectedAnswer(call, answer.status, answer.text, 'Content-Type application/json');
  }

  private empty(answer: ManagementAnswer, status: number, call: string): void {
    if (answer.status !== status)
      throw new UnexpectedAnswer(call, answer.status, answer.body ?? answer.text, `${status}`);
    if (answer.text !== '') throw new UnexpectedAnswer(call, answer.status, answer.text, 'an empty body');
  }
}
