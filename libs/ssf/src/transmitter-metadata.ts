import { SSF_POLL, SSF_PUSH } from '@signoff/core';

/**
 * Transmitter Configuration Metadata (SSF 1.0 §7.1), for `issuer`: every endpoint under it, both
 * delivery methods, OAuth bearer tokens (§7.1.1), and every user in every stream by default. Arrays
 * are never empty (§7.2.3: claims with zero elements are omitted).
 */
export function transmitterMetadata(issuer: string): Record<string, unknown> {
  return {
    spec_version: '1_0',
    issuer,
    jwks_uri: `${issuer}/oauth2/jwks`,
    delivery_methods_supported: [SSF_PUSH, SSF_POLL],
    configuration_endpoint: `${issuer}/ssf/streams`,
    status_endpoint: `${issuer}/ssf/streams/status`,
    add_subject_endpoint: `${issuer}/ssf/subjects/add`,
    remove_subject_endpoint: `${issuer}/ssf/subjects/remove`,
    verification_endpoint: `${issuer}/ssf/verify`,
    // An application-only logout names the application: a receiver that cannot tell must not take it
    // for the end of the whole session (SSF 1.0 §3.6).
    critical_subject_members: ['application'],
    authorization_schemes: [{ spec_urn: 'urn:ietf:rfc:6749' }],
    default_subjects: 'ALL',
  };
}

/**
 * Where the metadata is served (SSF 1.0 §7.2.1): `/.well-known/ssf-configuration` inserted between
 * the issuer's host and its path (without a trailing slash), so an issuer with a path has its own.
 */
export function metadataPathOf(issuer: string): string {
  const path = new URL(issuer).pathname.replace(/\/+$/, '');
  return `/.well-known/ssf-configuration${path}`;
}
