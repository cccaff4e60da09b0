export * from './metadata/idp-metadata';
export * from './metadata/sp-metadata';
export * from './providers/saml-sps.service';
export * from './saml.module';
export * from './xml/namespaces';
export * from './xml/safe-xml';
