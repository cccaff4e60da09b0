import type { SamlServiceProvider } from '@signoff/core';
import { certificateFingerprint } from '../metadata/sp-metadata-source';

/** Certificates added and removed, by SHA-256 fingerprint. */
export interface CertificateChange {
  added: string[];
  removed: string[];
}

/**
 * What new metadata changed of a registered SP, as audited (`saml_sp.metadata_refreshed`) and
 * answered by a refresh: certificate rollovers by fingerprint, endpoints before and after. An empty
 * object: nothing changed.
 */
export interface SpMetadataChanges {
  /** The certificates the SP signs with (its LogoutRequests, AuthnRequests, LogoutResponses). */
  certificates?: CertificateChange;
  /** The certificates assertions are encrypted to. */
  encryptionCertificates?: CertificateChange;
  acsEndpoints?: { before: unknown; after: unknown };
  slsEndpoints?: { before: unknown; after: unknown };
  /** The SingleLogoutService Signoff sends its LogoutRequests to, and its binding. */
  singleLogout?: { before: unknown; after: unknown };
  requireSignedRequests?: { before: boolean; after: boolean };
}

type Compared = Pick<SamlServiceProvider, 'certificates' | 'acsEndpoints' | 'slsEndpoints' | 'slsUrl' | 'slsBinding'> &
  Partial<Pick<SamlServiceProvider, 'encryptionCertificates' | 'slsResponseUrl' | 'requireSignedRequests'>>;

/** What changed from `before` to `after` (see SpMetadataChanges); a field `after` does not have is not compared. */
export function metadataChanges(before: Compared, after: Compared): SpMetadataChanges {
  const changes: SpMetadataChanges = {};
  const certificates = certificateChange(before.certificates, after.certificates);
  if (certificates) changes.certificates = certificates;
  if (after.encryptionCertificates !== undefined) {
    const encryption = certificateChange(
      (before.encryptionCertificates ?? []).map((key) => key.certificate),
      after.encryptionCertificates.map((key) => key.certificate),
    );
    if (encryption) changes.encryptionCertificates = encryption;
  }
  for (const field of ['acsEndpoints', 'slsEndpoints'] as const)
    if (!same(before[field], after[field])) changes[field] = { before: before[field], after: after[field] };
  const used = (sp: Compared) =>
    sp.slsUrl ? { url: sp.slsUrl, responseUrl: sp.slsResponseUrl ?? null, binding: sp.slsBinding } : null;
  if (!same(used(before), used(after))) changes.singleLogout = { before: used(before), after: used(after) };
  if (after.requireSignedRequests !== undefined && before.requireSignedRequests !== after.requireSignedRequests)
    changes.requireSignedRequests = {
      before: Boolean(before.requireSignedRequests),
      after: after.requireSignedRequests,
    };
  return changes;
}

function certificateChange(before: string[], after: string[]): CertificateChange | null {
  const [old, now] = [before.map(certificateFingerprint), after.map(certificateFingerprint)];
  const added = now.filter((fingerprint) => !old.includes(fingerprint));
  const removed = old.filter((fingerprint) => !now.includes(fingerprint));
  return added.length || removed.length ? { added, removed } : null;
}

/** Deep equality of JSON values, property order aside (a JSON column read back may order keys its own way). */
function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(sorted(a)) === JSON.stringify(sorted(b));
}

function sorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sorted);
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, sorted((value as Record<string, unknown>)[key])]),
    );
  return value;
}
