// SP metadata fetched from a URL (federation style): the request is Signoff's own, so it goes through
// the outbound policy like every other server-side request; the document may be required to carry an
// enveloped signature by one pinned certificate, and then only the signed bytes are read.
import { Injectable } from '@nestjs/common';
import {
  Clock,
  isLoopbackHost,
  isOutboundPolicyError,
  OutboundPolicy,
  OutboundPolicyError,
  SignoffError,
} from '@signoff/core';
import { HttpClient, ReplyTooLargeError } from '@signoff/dispatch';
import { X509Certificate } from 'node:crypto';
import { MAX_XML_BYTES, parseXml, UnsafeXmlError } from '../xml/safe-xml';
import { verifiedContent } from '../xml/signatures';
import { parseSpMetadata, type SpMetadata, SpMetadataError } from './sp-metadata';

/** How long a metadata fetch may take, connect to last byte. */
export const METADATA_FETCH_TIMEOUT_MS = 10_000;

/** The longest metadata URL accepted. */
export const METADATA_URL_MAX_LENGTH = 2048;

/** Where an SP's metadata comes from, and the certificate it must be signed with (null: unsigned is accepted). */
export interface MetadataSource {
  url: string;
  signingCertificate: string | null;
}

/** SP metadata as fetched and checked. */
export interface FetchedSpMetadata {
  metadata: SpMetadata;
  /** The root element's validUntil (metadata §2.3.2), when given; a past one is refused. */
  validUntil: Date | null;
  /** The root element's cacheDuration in milliseconds, when given and readable as an xs:duration. */
  cacheDurationMs: number | null;
}

/**
 * A metadata URL as an administrator may register it: absolute http(s) (a signed document needs no
 * TLS to be trusted; an unsigned one should come over https, which is the administrator's call),
 * no credentials or fragment, at most METADATA_URL_MAX_LENGTH characters, and not a literal address
 * the outbound policy refuses (a DNS name is checked at connect time). Refuses with `invalid_request`.
 */
export function checkMetadataUrl(url: string, outbound: OutboundPolicy): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new SignoffError(
      'invalid_request',
      `metadataUrl must be an absolute http(s) URL (got ${JSON.stringify(url)}).`,
    );
  }
  if (!['http:', 'https:'].includes(parsed.protocol) || parsed.username || parsed.password || parsed.hash)
    throw new SignoffError(
      'invalid_request',
      `metadataUrl must be an absolute http(s) URL without credentials or fragment (got ${JSON.stringify(url)}).`,
    );
  if (url.length > METADATA_URL_MAX_LENGTH)
    throw new SignoffError('invalid_request', `metadataUrl must be at most ${METADATA_URL_MAX_LENGTH} characters.`);
  try {
    outbound.checkUrl(parsed);
  } catch (error) {
    if (error instanceof OutboundPolicyError)
      throw new SignoffError('invalid_request', `metadataUrl ${url}: ${error.message}.`);
    throw error;
  }
  return url;
}

/**
 * The pinned metadata-signing certificate as PEM, from PEM (exactly one certificate) or base64 DER
 * (as KeyInfo carries it). Refuses with `invalid_request` anything that is not one X.509 certificate.
 */
export function pinnedCertificate(text: string): string {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  const [block] = blocks;
  const body = (block ?? text).replace(/-----[^-]+-----|\s/g, '');
  const refuse = (why: string) =>
    new SignoffError(
      'invalid_request',
      `metadataSigningCertificate must be one X.509 certificate, PEM or base64 DER: ${why}.`,
    );
  if (blocks.length > 1) throw refuse(`${blocks.length} certificates were given`);
  if (!body || !/^[A-Za-z0-9+/]+={0,2}$/.test(body)) throw refuse('it is not PEM or base64');
  try {
    new X509Certificate(Buffer.from(body, 'base64'));
  } catch {
    throw refuse('it does not parse as a certificate');
  }
  return `-----BEGIN CERTIFICATE-----\n${body.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
}

/** A certificate's SHA-256 fingerprint (AA:BB:…), from PEM or base64 DER: how certificates are named in views and audit events. */
export function certificateFingerprint(certificate: string): string {
  const body = certificate.replace(/-----[^-]+-----|\s/g, '');
  return new X509Certificate(Buffer.from(body, 'base64')).fingerprint256;
}

/** The refusal of a fetched document, saying where it came from and why. */
function refused(url: string, reason: string): SignoffError {
  return new SignoffError('invalid_sp_metadata', `The SP metadata at ${url} was refused: ${reason}.`, [reason]);
}

/**
 * Reads an SP metadata document as fetched from `url`: with a pinned certificate, it must carry one
 * enveloped signature over its root element by exactly that certificate (verifiedContent: KeyInfo is
 * never trusted), and everything is read from the signed bytes only, so nothing outside the signature
 * (a wrapped second EntityDescriptor, an added endpoint) is ever used. A validUntil that has passed is
 * refused (metadata §2.3.2: the document must not be relied on after it). Refuses with `invalid_sp_metadata`.
 */
export function readSpMetadataDocument(
  xml: string,
  url: string,
  signingCertificate: string | null,
  now: Date,
): FetchedSpMetadata {
  let content = xml;
  if (signingCertificate !== null) {
    try {
      content = verifiedContent(xml, [signingCertificate]);
    } catch (error) {
      if (!(error instanceof UnsafeXmlError)) throw error;
      throw refused(url, `its signature was checked against the pinned metadataSigningCertificate: ${error.message}`);
    }
  }
  let root: Element;
  try {
    root = parseXml(content).documentElement;
  } catch (error) {
    throw refused(url, (error as Error).message);
  }
  const validUntilText = root.getAttribute('validUntil');
  let validUntil: Date | null = null;
  if (validUntilText) {
    validUntil = xsDateTime(validUntilText);
    if (!validUntil) throw refused(url, `validUntil ${JSON.stringify(validUntilText)} is not an xs:dateTime`);
    if (validUntil.getTime() <= now.getTime()) throw refused(url, `it expired at ${validUntilText} (validUntil)`);
  }
  let metadata: SpMetadata;
  try {
    metadata = parseSpMetadata(content);
  } catch (error) {
    if (error instanceof SpMetadataError) throw refused(url, error.message);
    throw error;
  }
  return { metadata, validUntil, cacheDurationMs: xsDuration(root.getAttribute('cacheDuration') ?? '') };
}

/** An xs:dateTime with a time zone (Z or ±hh:mm), as SAML writes instants; null when it is not one. */
function xsDateTime(text: string): Date | null {
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(text)) return null;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? null : date;
}

/**
 * An xs:duration in milliseconds (a year taken as 365 days, a month as 30), or null when it is not
 * one: cacheDuration is advice on how often to refresh, so an unreadable one is ignored, not refused.
 */
export function xsDuration(text: string): number | null {
  const match = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(text);
  if (!match || text === 'P' || text.endsWith('T')) return null;
  const [years, months, days, hours, minutes, seconds] = match.slice(1).map((part) => Number(part ?? 0));
  const ms = ((((years * 365 + months * 30 + days) * 24 + hours) * 60 + minutes) * 60 + seconds) * 1000;
  return Number.isFinite(ms) ? ms : null;
}

/**
 * Fetches SP metadata from its URL through the outbound policy (HttpClient: checked on the address
 * connected to, redirects not followed), with a timeout and a size cap, and reads it with
 * readSpMetadataDocument. Refuses a URL the policy refuses with `invalid_request`, everything else
 * (no answer, not 200, too large, bad signature, expired, unreadable) with `invalid_sp_metadata`.
 */
@Injectable()
export class SpMetadataSource {
  constructor(
    private readonly http: HttpClient,
    private readonly outbound: OutboundPolicy,
    private readonly clock: Clock,
  ) {}

  /** checkMetadataUrl under this deployment's outbound policy. */
  checkUrl(url: string): string {
    return checkMetadataUrl(url, this.outbound);
  }

  async fetch(source: MetadataSource): Promise<FetchedSpMetadata> {
    const url = this.checkUrl(source.url);
    // Unsigned metadata is only as trustworthy as its transport: over plain http anyone on the path
    // could swap the SP's ACS URLs and certificates at the next refresh. http needs a pinned signing
    // certificate (the signature then vouches for the bytes), except on this machine (loopback).
    if (new URL(url).protocol === 'http:' && !source.signingCertificate && !isLoopbackHost(new URL(url).hostname))
      throw refused(
        url,
        'unsigned metadata must come over https (or pin the metadata-signing certificate to use http)',
      );
    let reply;
    try {
      reply = await this.http.get(
        url,
        'application/samlmetadata+xml, application/xml;q=0.9, text/xml;q=0.8',
        METADATA_FETCH_TIMEOUT_MS,
        MAX_XML_BYTES,
      );
    } catch (error) {
      throw this.fetchFailure(url, error);
    }
    if (reply.status !== 200)
      throw refused(
        url,
        reply.status >= 300 && reply.status < 400
          ? `it answered HTTP ${reply.status} (redirects are not followed: register the final URL)`
          : `it answered HTTP ${reply.status}`,
      );
    return readSpMetadataDocument(reply.body, url, source.signingCertificate, this.clock.now());
  }

  private fetchFailure(url: string, error: unknown): SignoffError {
    if (isOutboundPolicyError(error)) {
      const policy = error instanceof OutboundPolicyError ? error : (error as Error).cause;
      return new SignoffError('invalid_request', `metadataUrl ${url}: ${(policy as Error).message}.`);
    }
    if (error instanceof ReplyTooLargeError) return refused(url, `it is larger than ${error.maxBytes} bytes`);
    const name = (error as Error)?.name;
    if (name === 'TimeoutError' || name === 'AbortError')
      return refused(url, `no answer within ${METADATA_FETCH_TIMEOUT_MS / 1000} s`);
    const code = (error as { code?: string })?.code ?? ((error as Error)?.cause as { code?: string })?.code;
    return refused(url, `it could not be fetched (${code ?? (error as Error)?.message ?? String(error)})`);
  }
}
