import { Inject, Injectable } from '@nestjs/common';
import { Clock, CONFIG, type Config, KeysService } from '@signoff/core';
import { idpMetadata } from './idp-metadata';

/** How long SPs may cache the IdP metadata (cacheDuration), at most: half a day's worth of refreshes fits in validUntil. */
export const IDP_METADATA_CACHE_DURATION_MS = 6 * 3_600_000;

/**
 * The IdP's SAML metadata document as /saml/metadata serves it: the active and next signing
 * certificates (so an SP that refreshes metadata is ready before a rotation), validUntil
 * SAML_METADATA_VALID_FOR ahead, cacheDuration IDP_METADATA_CACHE_DURATION_MS (or less, when the
 * validity is shorter), signed with the active SAML key so federations can aggregate it.
 */
@Injectable()
export class SamlIdpMetadata {
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
    const validForMs = this.config.samlMetadata.validForMs;
    return idpMetadata({
      entityId: this.config.saml.entityId,
      baseUrl: this.config.publicUrl,
      scope: this.config.saml.scope,
      certificates: listed.map((key) => key.certificatePem!),
      validUntil: new Date(this.clock.now().getTime() + validForMs),
      cacheDurationMs: Math.min(IDP_METADATA_CACHE_DURATION_MS, validForMs),
      signingKey: signer.privateKey,
    });
  }
}
