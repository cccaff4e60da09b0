import { Inject, Injectable } from '@nestjs/common';
import { Clock, CONFIG, type Config, KeysService } from '@signoff/core';
import { idpMetadata } from './idp-metadata';

/** How long SPs may cache the IdP metadata (cacheDuration), at most: half a day's worth of refreshes fits in validUntil. */
export const IDP_METADATA_CACHE_DURATION_MS = 6 * 3_600_000;

/**
 * How long one signed document is served again while its keys stay the ones to list: anyone may ask
 * for it, and each new one costs about 1.5 ms of this thread (canonicalization and digest) besides
 * its RSA signature. Its validUntil is then up to this much earlier than a new one's would be.
 */
export const IDP_METADATA_REUSED_FOR_MS = 60_000;

/**
 * The IdP's SAML metadata document as /saml/metadata serves it: the active and next signing
 * certificates (so an SP that refreshes metadata is ready before a rotation), validUntil
 * SAML_METADATA_VALID_FOR ahead, cacheDuration IDP_METADATA_CACHE_DURATION_MS (or less, when the
 * validity is shorter), signed with the active SAML key so federations can aggregate it. The same
 * document is served for IDP_METADATA_REUSED_FOR_MS, unless the keys it lists or signs with change.
 */
@Injectable()
export class SamlIdpMetadata {
  /** The last document, the keys it was made of, and until when it is served again. */
  private kept?: { keys: string; until: number; document: Promise<string> };

  constructor(
    private readonly keys: KeysService,
    private readonly clock: Clock,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  async document(): Promise<string> {
    const published = await this.keys.published('saml');
    const signer = await this.keys.active('saml', 'RS256');
    // Another process may sign for up to the active key's cache time after a rotation with the key
    // just retired: its certificate is then published too, so the signature always verifies.
    const listed = published.filter((key) => key.state !== 'retired' || key.kid === signer.kid);
    const order = { active: 0, next: 1, retired: 2 };
    listed.sort((a, b) => order[a.state] - order[b.state]);
    const keys = [signer.kid, ...listed.map((key) => key.kid)].join(' ');
    const now = this.clock.now().getTime();
    if (this.kept && this.kept.keys === keys && now < this.kept.until) return this.kept.document;
    const validForMs = this.config.samlMetadata.validForMs;
    const document = idpMetadata({
      entityId: this.config.saml.entityId,
      baseUrl: this.config.publicUrl,
      scope: this.config.saml.scope,
      certificates: listed.map((key) => key.certificatePem!),
      validUntil: new Date(now + validForMs),
      cacheDurationMs: Math.min(IDP_METADATA_CACHE_DURATION_MS, validForMs),
      signingKey: signer.privateKey,
    });
    const kept = { keys, until: now + Math.min(IDP_METADATA_REUSED_FOR_MS, validForMs / 2), document };
    this.kept = kept;
    document.catch(() => {
      if (this.kept === kept) this.kept = undefined;
    });
    return document;
  }
}
