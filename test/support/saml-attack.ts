import { SAML, ValidateInResponseTo } from '@node-saml/node-saml';
import { SamlSession, SigningKey, SYSTEM } from '@signoff/core';
import { parseSpMetadata, SamlSpsService, type SpImportOptions } from '@signoff/saml';
import { DataSource } from 'typeorm';
import type { Browser } from './browser';
import { samlSignIn } from './saml';
import { spKeys } from './sp-keys';
import type { TestApp } from './test-app';

/** A node-saml SP registered at Signoff, with what an attacker's tests need of it. */
export interface AttackSp {
  saml: SAML;
  entityId: string;
  sls: string;
  privateKey: string;
  certificate: string;
}

/** What the IdP issued to one user at one SP (node-saml's profile, and the SamlSession row's id). */
export interface Issued {
  profile: NonNullable<Awaited<ReturnType<SAML['validatePostResponseAsync']>>['profile']>;
  sessionId: string;
}

/**
 * A node-saml SP `name` registered from its own metadata (node-saml writes AuthnRequestsSigned="false"
 * unless told otherwise), its SingleLogoutService on `binding`; `metadata` may rewrite the XML first
 * (e.g. drop the certificate).
 */
export async function registerAttackSp(t: TestApp, name: string, options: { binding?: 'HTTP-Redirect' | 'HTTP-POST' | 'SOAP'; import?: SpImportOptions; metadata?: (xml: string) => string } = {}): Promise<AttackSp> {
  const idpCert = (await t.app.get(DataSource).getRepository(SigningKey).findOneByOrFail({ use: 'saml', state: 'active' })).certificatePem!;
  const keys = await spKeys(`${name}.example`);
  const entityId = `https://${name}.example/metadata`;
  const sls = `https://${name}.example/slo`;
  const saml = new SAML({
    issuer: entityId, callbackUrl: `https://${name}.example/acs`, logoutCallbackUrl: sls, entryPoint: `${t.url}/saml/sso`, logoutUrl: `${t.url}/saml/slo`,
    idpIssuer: `${t.url}/saml/metadata`, idpCert, audience: entityId, wantAssertionsSigned: true, wantAuthnResponseSigned: true,
    privateKey: keys.privateKey, signatureAlgorithm: 'sha256', digestAlgorithm: 'sha256', validateInResponseTo: ValidateInResponseTo.always,
  });
  let metadata = saml.generateServiceProviderMetadata(null, keys.certificate)
    .replace(/<SingleLogoutService [^>]*\/>/, `<SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:${options.binding ?? 'HTTP-Redirect'}" Location="${sls}"/>`);
  if (options.metadata) metadata = options.metadata(metadata);
  await t.app.get(SamlSpsService).import(parseSpMetadata(metadata), { slug: name, logoutMethod: options.binding === 'SOAP' ? 'backchannel' : 'frontchannel_iframe', ...options.import }, SYSTEM);
  return { saml, entityId, sls, ...keys };
}

/** SSO into `sp` as `username` (password `<username> password`) in `browser`; what the SP learned. */
export async function signInAt(t: TestApp, sp: AttackSp, browser: Browser, username: string): Promise<Issued> {
  const { fields } = await samlSignIn(browser, await sp.saml.getAuthorizeUrlAsync('', undefined, {}), { username, password: `${username} password` });
  const { profile } = await sp.saml.validatePostResponseAsync({ SAMLResponse: fields.SAMLResponse });
  const session = await t.app.get(DataSource).getRepository(SamlSession).findOneByOrFail({ sessionIndex: profile!.sessionIndex! });
  return { profile: profile!, sessionId: session.id };
}
