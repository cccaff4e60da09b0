import type { Config } from '@signoff/core';

/** What relying parties and SPs are given to trust Signoff, as GET /api/v1/endpoints and the console's Keys page show it. */
export interface SignoffEndpoints {
  oidc: { issuer: string; discovery: string; jwks: string };
  saml: { entityId: string; metadata: string; singleSignOn: string; singleLogout: string; singleLogoutSoap: string };
}

/**
 * The addresses an application is configured with, all from PUBLIC_URL (and SAML_ENTITY_ID): the OIDC
 * issuer, its discovery document (OpenID Connect Discovery 1.0 §4) and JWKS, the SAML entityID and the
 * metadata, SSO and SLO endpoints. One function, so the API and the console cannot disagree.
 */
export function signoffEndpoints(config: Config): SignoffEndpoints {
  const base = config.publicUrl;
  return {
    oidc: {
      issuer: base,
      discovery: `${base}/.well-known/openid-configuration`,
      jwks: `${base}/oauth2/jwks`,
    },
    saml: {
      entityId: config.saml.entityId,
      metadata: `${base}/saml/metadata`,
      singleSignOn: `${base}/saml/sso`,
      singleLogout: `${base}/saml/slo`,
      singleLogoutSoap: `${base}/saml/slo/soap`,
    },
  };
}
