import { Controller, Get, Header, Inject } from '@nestjs/common';
import { CONFIG, type Config, KeysService } from '@signoff/core';
import { idpMetadata } from '@signoff/saml';

@Controller('saml/metadata')
export class SamlMetadataController {
  constructor(
    private readonly keys: KeysService,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  /** The IdP's SAML metadata, with the active and the next signing certificate. */
  @Get()
  @Header('Content-Type', 'application/samlmetadata+xml; charset=utf-8')
  @Header('Cache-Control', 'public, max-age=300')
  async metadata(): Promise<string> {
    const keys = (await this.keys.published('saml')).filter((key) => key.state !== 'retired');
    const order = { active: 0, next: 1, retired: 2 };
    keys.sort((a, b) => order[a.state] - order[b.state]);
    return idpMetadata({
      entityId: this.config.saml.entityId,
      baseUrl: this.config.publicUrl,
      certificates: keys.map((key) => key.certificatePem!),
    });
  }
}
