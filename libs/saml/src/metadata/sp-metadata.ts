import { X509Certificate } from 'node:crypto';
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
  authnRequestsSigned: boolean;
  wantAssertionsSigned: boolean;
  nameIdFormats: string[];
}

export class SpMetadataError extends Error {}

const bindingName = (uri: string | null): BindingName | null =>
  (Object.entries(BINDINGS).find(([, value]) => value === uri)?.[0] as BindingName | undefined) ?? null;

/**
 * Reads an SP's metadata (SAML 2.0 metadata §2.4.4): entityID, ACS and SingleLogoutService endpoints
 * with their bindings and ResponseLocation, signing certificates, AuthnRequestsSigned and
 * WantAssertionsSigned. Endpoints must be absolute http(s) URLs; certificates must parse.
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
    .filter((key) => (key.getAttribute('use') ?? 'signing') === 'signing')
    .flatMap((key) => descendants(key, NS.ds, 'X509Certificate'))
    .map((element) => pem(textOf(element)));

  return {
    entityId,
    acs,
    singleLogout,
    certificates,
    authnRequestsSigned: sp.getAttribute('AuthnRequestsSigned') === 'true',
    wantAssertionsSigned: sp.getAttribute('WantAssertionsSigned') === 'true',
    nameIdFormats: children(sp, NS.md, 'NameIDFormat').map(textOf),
  };
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
    authnRequestsSigned: false,
    wantAssertionsSigned: true,
    nameIdFormats: [],
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
