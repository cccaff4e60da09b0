import type { SAML } from '@node-saml/node-saml';
import { SamlSession, SYSTEM } from '@signoff/core';
import { parseSpMetadata, SamlSpsService, type SpImportOptions } from '@signoff/saml';
import { DataSource } from 'typeorm';
import type { Browser } from './browser';
import { samlSignIn } from './saml';
import { idpCertificate, nodeSamlMetadata, nodeSamlSp, type SlsBinding, spKeys } from './saml-test-sp';
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
export async function registerAttackSp(
  t: TestApp,
  name: string,
  options: { binding?: SlsBinding; import?: SpImportOptions; metadata?: (xml: string) => string } = {},
): Promise<AttackSp> {
  const keys = await spKeys(`${name}.example`);
  const entityId = `https://${name}.example/metadata`;
  const sls = `https://${name}.example/slo`;
  const saml = nodeSamlSp({ url: t.url, cert: await idpCertificate(t) }, `https://${name}.example`, keys.privateKey);
  let metadata = nodeSamlMetadata(saml, keys.certificate, options.binding ?? 'HTTP-Redirect', sls);
  if (options.metadata) metadata = options.metadata(metadata);
  await t.app.get(SamlSpsService).import(
    parseSpMetadata(metadata),
    {
      slug: name,
      logoutMethod: options.binding === 'SOAP' ? 'backchannel' : 'frontchannel_iframe',
      ...options.import,
    },
    SYSTEM,
  );
  return { saml, entityId, sls, ...keys };
}

/** SSO into `sp` as `username` (password `<username> password`) in `browser`; what the SP learned. */
export async function signInAt(t: TestApp, sp: AttackSp, browser: Browser, username: string): Promise<Issued> {
  const { fields } = await samlSignIn(browser, await sp.saml.getAuthorizeUrlAsync('', undefined, {}), {
    username,
    password: `${username} password`,
  });
  const { profile } = await sp.saml.validatePostResponseAsync({ SAMLResponse: fields.SAMLResponse });
  const session = await t.app
    .get(DataSource)
    .getRepository(SamlSession)
    .findOneByOrFail({ sessionIndex: profile!.sessionIndex! });
  return { profile: profile!, sessionId: session.id };
}
