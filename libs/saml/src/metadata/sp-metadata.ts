import { X509Certificate } from 'node:crypto';
import type { EncryptionCertificate } from '@signoff/core';
import { BINDINGS, type BindingName, NS } from '../xml/namespaces';
import { children, descendants, parseXml, textOf, UnsafeXmlError } from '../xml/safe-xml';

export interface SpEndpoint {
  binding: BindingName;
  url: string;
  responseUrl: string | null;
}

export interface SpMetadata {
  entityId: string;
  acs: Array<{ url: string; binding: 'post' | 'redirect'; index: number; isDefault: boolean }>;
  singleLogout: SpEndpoint[];
  /** PEM certificates the SP signs with (KeyDescriptor use="signing" or without a use). */
  certificates: string[];
  /** Certificates assertions may be encrypted to (KeyDescriptor use="encryption" or without a use), with the SP's EncryptionMethods. */
  encryptionCertificates: EncryptionCertificate[];
  authnRequestsSigned: boolean;
  wantAssertionsSigned: boolean;
  nameIdFormats: string[];
  /** The attributes the SP asks for (AttributeConsumingService/RequestedAttribute, metadata §2.4.4.1): hints, never stored. */
  requestedAttributes: RequestedAttribute[];
}

/** One md:RequestedAttribute (metadata §2.4.4.2): what an SP says it wants, shown to administrators as a hint. */
export interface RequestedAttribute {
  name: string;
  nameFormat: string | null;
  friendlyName: string | null;
  isRequired: boolean;
}

/** How many RequestedAttributes are read: more is no SP's real need, and the hint stays readable. */
const REQUESTED_ATTRIBUTES_MAX = 100;

export class SpMetadataError extends Error {}

const bindingName = (uri: string | null): BindingName | null =>
  (Object.entries(BINDINGS).find(([, value]) => value === uri)?.[0] as BindingName | undefined) ?? null;

/**
 * Reads an SP's metadata (SAML 2.0 metadata §2.4.4): entityID, ACS and SingleLogoutService endpoints
 * with their bindings and ResponseLocation, signing certificates, encryption certificates with their
 * EncryptionMethods, AuthnRequestsSigned and WantAssertionsSigned. Endpoints must be absolute http(s) URLs; certificates must parse.
 */
export function parseSpMetadata(xml: string): SpMetadata {
  let doc: Document;
  try {
    doc = parseXml(xml);
  } catch (error) {
    throw new SpMetadataError((error as UnsafeXmlError).message);
  }
  const root = doc.documentElement;
  if (root.namespaceURI !== NS.md || root.localName !== 'EntityDescriptor')
    throw new SpMetadataError('the root element must be md:EntityDescriptor');
  const entityId = root.getAttribute('entityID') ?? '';
  if (!entityId || entityId.length > 1024)
    throw new SpMetadataError('entityID is missing or longer than 1024 characters');
  const [sp, ...more] = children(root, NS.md, 'SPSSODescriptor');
  if (!sp || more.length) throw new SpMetadataError('expected exactly one md:SPSSODescriptor');
  if (
    !(sp.getAttribute('protocolSupportEnumeration') ?? '').split(/\s+/).includes('urn:oasis:names:tc:SAML:2.0:protocol')
  ) {
    throw new SpMetadataError('the SPSSODescriptor does not support the SAML 2.0 protocol');
  }

  const acs = children(sp, NS.md, 'AssertionConsumerService').flatMap((element, position) => {
    const binding = bindingName(element.getAttribute('Binding'));
    if (binding !== 'post' && binding !== 'redirect') return [];
    const index = Number(element.getAttribute('index') ?? position);
    return [
      {
        url: httpUrl(element.getAttribute('Location'), 'AssertionConsumerService'),
        binding,
        index,
        isDefault: element.getAttribute('isDefault') === 'true',
      },
    ];
  });
  if (!acs.length) throw new SpMetadataError('no AssertionConsumerService with the HTTP-POST or HTTP-Redirect binding');

  const singleLogout = children(sp, NS.md, 'SingleLogoutService').flatMap((element) => {
    const binding = bindingName(element.getAttribute('Binding'));
    if (!binding) return [];
    const response = element.getAttribute('ResponseLocation');
    return [
      {
        binding,
        url: httpUrl(element.getAttribute('Location'), 'SingleLogoutService'),
        responseUrl: response ? httpUrl(response, 'ResponseLocation') : null,
      },
    ];
  });

  const certificates = children(sp, NS.md, 'KeyDescriptor')
    // xmldom answers "" for an absent attribute: no `use` means both uses (metadata §2.4.1.1).
    .filter((key) => (key.getAttribute('use') || 'signing') === 'signing')
    .flatMap((key) => descendants(key, NS.ds, 'X509Certificate'))
    .map((element) => pem(textOf(element)));

  return {
    entityId,
    acs,
    singleLogout,
    certificates,
    encryptionCertificates: encryptionCertificates(sp),
    authnRequestsSigned: sp.getAttribute('AuthnRequestsSigned') === 'true',
    wantAssertionsSigned: sp.getAttribute('WantAssertionsSigned') === 'true',
    nameIdFormats: children(sp, NS.md, 'NameIDFormat').map(textOf),
    requestedAttributes: requestedAttributes(sp),
  };
}

/** How many md:EncryptionMethods of one KeyDescriptor are read: real SPs list fewer than ten. */
const ENCRYPTION_METHODS_MAX = 20;

/**
 * The certificates of every KeyDescriptor for encryption: use="encryption", or no `use` at all, which
 * means both signing and encryption (metadata §2.4.1.1). Each comes with the Algorithm of the
 * KeyDescriptor's md:EncryptionMethods, the SP's preferences (metadata §2.4.1.1).
 */
function encryptionCertificates(sp: Element): EncryptionCertificate[] {
  return children(sp, NS.md, 'KeyDescriptor')
    .filter((key) => (key.getAttribute('use') || 'encryption') === 'encryption')
    .flatMap((key) => {
      const methods = children(key, NS.md, 'EncryptionMethod')
        .map((method) => method.getAttribute('Algorithm') ?? '')
        .filter((algorithm) => algorithm && algorithm.length <= 256)
        .slice(0, ENCRYPTION_METHODS_MAX);
      return descendants(key, NS.ds, 'X509Certificate').map((element) => ({
        certificate: der(textOf(element), 'an encryption certificate'),
        methods,
      }));
    });
}

/** The RequestedAttributes of every AttributeConsumingService, one per Name, the first REQUESTED_ATTRIBUTES_MAX. */
function requestedAttributes(sp: Element): RequestedAttribute[] {
  const byName = new Map<string, RequestedAttribute>();
  for (const service of children(sp, NS.md, 'AttributeConsumingService'))
    for (const element of children(service, NS.md, 'RequestedAttribute')) {
      const name = element.getAttribute('Name') ?? '';
      if (!name || name.length > 1024 || byName.has(name)) continue;
      const optional = (attribute: string) => element.getAttribute(attribute)?.slice(0, 1024) || null;
      byName.set(name, {
        name,
        nameFormat: optional('NameFormat'),
        friendlyName: optional('FriendlyName'),
        isRequired: ['true', '1'].includes(element.getAttribute('isRequired') ?? ''),
      });
    }
  return [...byName.values()].slice(0, REQUESTED_ATTRIBUTES_MAX);
}

/** What an administrator types in for an SP that has no metadata document. */
export interface SpFields {
  entityId: string;
  /** HTTP-POST AssertionConsumerService URLs; the first is the default. */
  acsUrls: string[];
  singleLogoutServices?: Array<{ binding: BindingName; url: string; responseUrl?: string | null }>;
  /** PEM certificates the SP signs with. */
  certificates?: string[];
}

/** The same SpMetadata parseSpMetadata gives, from fields, with the same checks. */
export function spMetadataFromFields(fields: SpFields): SpMetadata {
  if (!fields.entityId || fields.entityId.length > 1024)
    throw new SpMetadataError('entityId is missing or longer than 1024 characters');
  if (!fields.acsUrls.length) throw new SpMetadataError('at least one AssertionConsumerService URL is needed');
  return {
    entityId: fields.entityId,
    acs: fields.acsUrls.map((url, index) => ({
      url: httpUrl(url, 'AssertionConsumerService'),
      binding: 'post' as const,
      index,
      isDefault: index === 0,
    })),
    singleLogout: (fields.singleLogoutServices ?? []).map((endpoint) => ({
      binding: endpoint.binding,
      url: httpUrl(endpoint.url, 'SingleLogoutService'),
      responseUrl: endpoint.responseUrl ? httpUrl(endpoint.responseUrl, 'ResponseLocation') : null,
    })),
    certificates: (fields.certificates ?? []).map((certificate) => pem(certificate.replace(/-----[^-]+-----/g, ''))),
    encryptionCertificates: [],
    authnRequestsSigned: false,
    wantAssertionsSigned: true,
    nameIdFormats: [],
    requestedAttributes: [],
  };
}

function httpUrl(value: string | null, what: string): string {
  try {
    const url = new URL(value ?? '');
    if (url.protocol === 'https:' || url.protocol === 'http:') return value!;
  } catch {
    // fall through
  }
  throw new SpMetadataError(`${what} Location must be an absolute http(s) URL (got ${JSON.stringify(value)})`);
}

/** A certificate's base64 DER, compact, once it parses as X.509 (`what` names it in the error). */
function der(body: string, what: string): string {
  const compact = body.replace(/\s+/g, '');
  try {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) throw new Error('not base64');
    new X509Certificate(Buffer.from(compact, 'base64'));
  } catch {
    throw new SpMetadataError(`${what} in the metadata is not a valid X.509 certificate`);
  }
  return compact;
}

function pem(body: string): string {
  const compact = body.replace(/\s+/g, '');
  const text = `-----BEGIN CERTIFICATE-----\n${compact.match(/.{1,64}/g)?.join('\n') ?? ''}\n-----END CERTIFICATE-----\n`;
  try {
    new X509Certificate(text);
  } catch {
    throw new SpMetadataError('a signing certificate in the metadata is not a valid X.509 certificate');
  }
  return text;
}
