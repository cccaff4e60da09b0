import { Controller, Get, Header } from '@nestjs/common';
import { SamlIdpMetadata } from '@signoff/saml';

@Controller('saml/metadata')
export class SamlMetadataController {
  constructor(private readonly idpMetadata: SamlIdpMetadata) {}

  /** The IdP's SAML metadata, signed, with the active and the next signing certificate, validUntil and cacheDuration. */
  @Get()
  @Header('Content-Type', 'application/samlmetadata+xml; charset=utf-8')
  @Header('Cache-Control', 'public, max-age=300')
  metadata(): Promise<string> {
    return this.idpMetadata.document();
  }
}
