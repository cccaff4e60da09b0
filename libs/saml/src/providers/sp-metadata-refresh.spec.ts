import { selfSignedCertificate } from '@signoff/core';
import { generateKeyPairSync } from 'node:crypto';
import { certificateFingerprint } from '../metadata/sp-metadata-source';
import { metadataChanges } from './metadata-changes';
import { MIN_REFRESH_MS, nextRefreshDelay, refreshCheckIntervalMs } from './sp-metadata-refresh';

const HOUR = 3_600_000;

describe('nextRefreshDelay', () => {
  it('is SAML_METADATA_REFRESH, or the cacheDuration when shorter, but not under MIN_REFRESH_MS', () => {
    expect(nextRefreshDelay(6 * HOUR, null, false)).toBe(6 * HOUR);
    expect(nextRefreshDelay(6 * HOUR, HOUR, false)).toBe(HOUR);
    expect(nextRefreshDelay(6 * HOUR, 24 * HOUR, false)).toBe(6 * HOUR);
    expect(nextRefreshDelay(6 * HOUR, 1000, false)).toBe(MIN_REFRESH_MS);
    expect(nextRefreshDelay(60_000, 1000, false)).toBe(60_000); // never longer than the configured interval
  });

  it('retries a failure within half an hour, or the configured interval when shorter', () => {
    expect(nextRefreshDelay(6 * HOUR, HOUR, true)).toBe(HOUR / 2);
    expect(nextRefreshDelay(60_000, null, true)).toBe(60_000);
  });

  it('checks for due SPs every five minutes, or the interval when shorter', () => {
    expect(refreshCheckIntervalMs(6 * HOUR)).toBe(5 * 60_000);
    expect(refreshCheckIntervalMs(60_000)).toBe(60_000);
  });
});

describe('metadataChanges', () => {
  let certificates: string[];
  beforeAll(async () => {
    certificates = await Promise.all(
      ['a', 'b', 'c'].map(async (name) => {
        const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
        return selfSignedCertificate(
          privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
          publicKey.export({ type: 'spki', format: 'pem' }) as string,
          `${name}.example`,
          30,
        );
      }),
    );
  });

  const sp = (changes: Record<string, unknown> = {}) => ({
    certificates: [certificates[0]],
    encryptionCertificates: [] as Array<{ certificate: string; methods: string[] }>,
    acsEndpoints: [{ url: 'https://sp.example/acs', binding: 'post' as const, index: 0, isDefault: true }],
    slsEndpoints: [{ binding: 'redirect' as const, url: 'https://sp.example/slo', responseUrl: null }],
    slsUrl: 'https://sp.example/slo',
    slsResponseUrl: null,
    slsBinding: 'redirect' as const,
    requireSignedRequests: false,
    ...changes,
  });

  it('is empty when nothing changed, whatever order the JSON keys come in', () => {
    expect(
      metadataChanges(
        sp(),
        sp({ slsEndpoints: [{ url: 'https://sp.example/slo', responseUrl: null, binding: 'redirect' }] }),
      ),
    ).toEqual({});
  });

  it('names a certificate rollover by fingerprint, and changed endpoints before and after', () => {
    const [a, b, c] = certificates.map(certificateFingerprint);
    const after = sp({
      certificates: [certificates[1]],
      encryptionCertificates: [{ certificate: certificates[2], methods: [] }],
      slsEndpoints: [{ binding: 'redirect', url: 'https://sp.example/slo2', responseUrl: null }],
      slsUrl: 'https://sp.example/slo2',
    });
    expect(metadataChanges(sp(), after)).toEqual({
      certificates: { added: [b], removed: [a] },
      encryptionCertificates: { added: [c], removed: [] },
      slsEndpoints: {
        before: [{ binding: 'redirect', url: 'https://sp.example/slo', responseUrl: null }],
        after: [{ binding: 'redirect', url: 'https://sp.example/slo2', responseUrl: null }],
      },
      singleLogout: {
        before: { url: 'https://sp.example/slo', responseUrl: null, binding: 'redirect' },
        after: { url: 'https://sp.example/slo2', responseUrl: null, binding: 'redirect' },
      },
    });
  });
});
