import {
  type BinaryLike,
  constants,
  createHash,
  createVerify,
  type KeyLike,
  type KeyObject,
  randomBytes,
  sign,
  X509Certificate,
} from 'node:crypto';
import { type ErrorFirstCallback, type SignatureAlgorithm, type SignatureAlgorithmType, SignedXml } from 'xml-crypto';
import type { RedirectQuery } from '../bindings/redirect';
import { attributesOf, compact, el, escapeXml, type XmlElement, type XmlNode } from './build';
import { exclusiveCanonical } from './canonical';
import { NS } from './namespaces';
import { children, parseXml, UnsafeXmlError } from './safe-xml';

export const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';
const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';
const XSI = 'http://www.w3.org/2001/XMLSchema-instance';
/** A QName (Namespaces in XML §4), whitespace around it allowed: its prefix, if it has one. */
const QNAME = /^[ \t\n\r]*(?:([\p{L}_][\p{L}\p{N}_.-]*):)?[\p{L}_][\p{L}\p{N}_.-]*[ \t\n\r]*$/u;

/** Algorithms accepted from SPs: SHA-256 and up; SHA-1 is refused. */
const ACCEPTED_SIGNATURE_ALGORITHMS: Record<string, string> = {
  [RSA_SHA256]: 'RSA-SHA256',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512': 'RSA-SHA512',
};

/** Where the Signature goes: after the signed element's Issuer, or as its first child. */
type Placement = 'after-issuer' | 'first-child';

/**
 * Signs the element with this ID (enveloped, exclusive c14n, RSA-SHA256), placing the Signature right
 * after its Issuer as the SAML schema requires, or as its first child (`first-child`: an
 * md:EntityDescriptor, whose ds:Signature comes first, metadata §2.3.2). `certificateBody` goes into
 * KeyInfo for the SP's sake; null leaves KeyInfo out (verifiers use the certificate they pinned).
 * xml-crypto's signing, all of it on the calling thread: what the tests sign as an SP with, and the
 * reference signElementOffThread is held to. Signoff signs with signXml (or signElementOffThread).
 */
export function signElement(
  xml: string,
  elementId: string,
  key: KeyObject,
  certificateBody: string | null,
  placement: Placement = 'after-issuer',
): string {
  const signer = signerFor(elementId, key, certificateBody);
  signer.computeSignature(xml, signatureLocation(elementId, placement));
  return signer.getSignedXml();
}

/**
 * signElement with the RSA signature computed on libuv's threads (node:crypto's callback form): an
 * RSA-2048 signature, 0.26 ms on the 2-core machine of the benchmarks in a fast state, that the
 * calling thread does not spend; xml-crypto's writing, parsing and canonicalization stay on it (about
 * 0.5 ms a LogoutRequest). What Signoff signs a message holding raw markup with (a Response around
 * an encrypted assertion), which signXml does not canonicalize; everything else is signed by signXml.
 * The same bytes as signElement (RSASSA-PKCS1-v1_5 is deterministic).
 *
 * The document is signed at once with a stand-in SignatureValue, and the real value put in its place
 * when it comes: the value is over SignedInfo alone (XML-DSig §3.1.2), which already holds the digest
 * of the element. Nothing but two strings waits for the signature; xml-crypto's own asynchronous flow
 * would keep the parsed document alive meanwhile (measured: the worker's heap 45 MB larger in a bulk
 * deactivation).
 */
export async function signElementOffThread(
  xml: string,
  elementId: string,
  key: KeyObject,
  certificateBody: string | null,
  placement: Placement = 'after-issuer',
): Promise<string> {
  const standIn = `signoff-${randomBytes(18).toString('hex')}`;
  let signedInfo: string | undefined;
  /** RSA-SHA256 whose value is written later: it keeps what it must sign and answers with the stand-in. */
  class DeferredRsaSha256 implements SignatureAlgorithm {
    getSignature(input: BinaryLike): string;
    getSignature(input: BinaryLike, key: KeyLike, callback?: ErrorFirstCallback<string>): void;
    getSignature(input: BinaryLike): string | void {
      signedInfo = String(input);
      return standIn;
    }
    verifySignature(): boolean {
      throw new Error('this algorithm signs only');
    }
    getAlgorithmName(): SignatureAlgorithmType {
      return RSA_SHA256;
    }
  }
  const signer = signerFor(elementId, key, certificateBody);
  signer.SignatureAlgorithms = { ...signer.SignatureAlgorithms, [RSA_SHA256]: DeferredRsaSha256 };
  signer.computeSignature(xml, signatureLocation(elementId, placement));
  const unsigned = signer.getSignedXml();
  // The stand-in occurs exactly once, as an element's whole text: the SignatureValue's.
  const at = unsigned.indexOf(standIn);
  const placed =
    signedInfo !== undefined &&
    at > 0 &&
    unsigned.lastIndexOf(standIn) === at &&
    unsigned[at - 1] === '>' &&
    unsigned.startsWith('</', at + standIn.length);
  if (!placed) throw new Error('the signature value could not be placed');
  const signature = await new Promise<Buffer>((resolve, reject) =>
    sign('sha256', Buffer.from(signedInfo!, 'utf8'), { key, padding: constants.RSA_PKCS1_PADDING }, (error, value) =>
      error ? reject(error) : resolve(value),
    ),
  );
  return `${unsigned.slice(0, at)}${signature.toString('base64')}${unsigned.slice(at + standIn.length)}`;
}

/**
 * Signs the element of `message` whose ID is `elementId` (enveloped, exclusive c14n, SHA-256 digest,
 * RSA-SHA256; XML-DSig §3.1), and answers the message with its ds:Signature in place, for toXml to
 * write: right after the element's Issuer as the SAML schema requires (core §5.4.1), or as its first
 * child (`first-child`: an md:EntityDescriptor, metadata §2.3.2). `certificateBody` goes into KeyInfo
 * for the SP's sake; null leaves KeyInfo out (verifiers use the certificate they pinned).
 *
 * The canonical form is computed from the tree (exclusiveCanonical), as a verifier will compute it
 * from the document toXml writes, instead of writing the document, parsing it again and
 * canonicalizing the parse, which cost about 0.5 ms of the calling thread per signature (xml-crypto,
 * signElement). The RSA signature is made on libuv's threads (node:crypto's callback form). The
 * Signature is written compact (no whitespace inside), as other signers write it; it is digested
 * without itself (the enveloped-signature transform), the line it stands on included.
 * The element must hold no raw markup (an encrypted assertion): that is signed by signElementOffThread.
 */
export async function signXml(
  message: XmlElement,
  elementId: string,
  key: KeyObject,
  certificateBody: string | null,
  placement: Placement = 'after-issuer',
): Promise<XmlElement> {
  // sign() would make an ECDSA signature with an EC key, under the rsa-sha256 the SignedInfo names.
  if (key.asymmetricKeyType !== 'rsa') throw new Error('SAML messages are signed with RSA-SHA256: the key must be RSA');
  const element = elementWithId(message, elementId);
  const placeholder = el('ds:Signature', { 'xmlns:ds': NS.ds });
  const withPlaceholder = withChildren(element, placed(element, placeholder, placement));
  const root = replaced(message, element, withPlaceholder);
  const inclusivePrefixes = typePrefixesIn(root, withPlaceholder);
  const digest = createHash('sha256')
    .update(exclusiveCanonical(root, withPlaceholder, placeholder, inclusivePrefixes), 'utf8')
    .digest('base64');
  const signedInfo = el('ds:SignedInfo', {}, [
    el('ds:CanonicalizationMethod', { Algorithm: EXC_C14N }),
    el('ds:SignatureMethod', { Algorithm: RSA_SHA256 }),
    el('ds:Reference', { URI: `#${elementId}` }, [
      el('ds:Transforms', {}, [
        el('ds:Transform', { Algorithm: ENVELOPED }),
        el('ds:Transform', { Algorithm: EXC_C14N }, [
          inclusivePrefixes.length
            ? el('ec:InclusiveNamespaces', { 'xmlns:ec': EXC_C14N, PrefixList: inclusivePrefixes.join(' ') })
            : null,
        ]),
      ]),
      el('ds:DigestMethod', { Algorithm: SHA256 }),
      el('ds:DigestValue', {}, [digest]),
    ]),
  ]);
  const signature = (value: string) =>
    compact(
      el('ds:Signature', { 'xmlns:ds': NS.ds }, [
        signedInfo,
        el('ds:SignatureValue', {}, [value]),
        certificateBody === null
          ? null
          : el('ds:KeyInfo', {}, [el('ds:X509Data', {}, [el('ds:X509Certificate', {}, [certificateBody])])]),
      ]),
    );
  // The value is over SignedInfo alone (§3.1.2), canonicalized where it stands: inside ds:Signature.
  const unsigned = signature('');
  const signedBytes = Buffer.from(exclusiveCanonical(unsigned, signedInfo), 'utf8');
  const value = await new Promise<Buffer>((resolve, reject) =>
    sign('sha256', signedBytes, { key, padding: constants.RSA_PKCS1_PADDING }, (error, result) =>
      error ? reject(error) : resolve(result),
    ),
  );
  return replaced(
    message,
    element,
    withChildren(element, placed(element, signature(value.toString('base64')), placement)),
  );
}

/**
 * The prefixes of the QNames in the xsi:type values of `target` and below (xs in
 * xsi:type="xs:string", a saml:AttributeValue's type), `root` giving what is in scope. Exclusive
 * c14n renders a namespace only where an element or attribute name uses it (exc-c14n §3), so without
 * more the binding of xs would be outside the signed form, and could be changed under a valid
 * signature: these prefixes go into the transform's InclusiveNamespaces PrefixList, as Shibboleth's
 * IdP names its xsd. Sorted; none for a message without xsi:type.
 */
function typePrefixesIn(root: XmlElement, target: XmlElement): string[] {
  const prefixes = new Set<string>();
  const visit = (element: XmlElement, scope: ReadonlyMap<string, string>, inside: boolean) => {
    const attributes = attributesOf(element);
    const declared = attributes.filter(([name]) => name.startsWith('xmlns:'));
    const here = declared.length
      ? new Map([...scope, ...declared.map(([name, uri]): [string, string] => [name.slice('xmlns:'.length), uri])])
      : scope;
    const within = inside || element === target;
    if (within)
      for (const [name, value] of attributes) {
        const colon = name.indexOf(':');
        if (colon <= 0 || name.slice(colon + 1) !== 'type' || here.get(name.slice(0, colon)) !== XSI) continue;
        // An xs:QName, whose whitespace collapses (XML Schema 2 §3.2.18): a prefix, or none (the
        // default namespace, which Signoff never types with and the list would name as #default).
        const qname = QNAME.exec(value);
        if (!qname) throw new Error(`xsi:type="${value}" is not a QName: it cannot be signed as such`);
        if (qname[1] !== undefined) prefixes.add(qname[1]);
      }
    for (const child of element.children)
      if (typeof child !== 'string' && child.kind === 'element') visit(child, here, within);
  };
  visit(root, new Map(), false);
  return [...prefixes].sort();
}

/** The one element of the tree whose ID is `id`: a signature must leave no doubt which element it covers. */
function elementWithId(root: XmlElement, id: string): XmlElement {
  const found: XmlElement[] = [];
  const visit = (node: XmlNode) => {
    if (typeof node === 'string' || node.kind === 'raw') return;
    if (node.attributes.ID === id) found.push(node);
    node.children.forEach(visit);
  };
  visit(root);
  if (found.length !== 1)
    throw new Error(`the message must have exactly one element with the ID ${id}, not ${found.length}`);
  return found[0];
}

/** The children of `element` with `signature` placed: after its first saml:Issuer, or first. */
function placed(element: XmlElement, signature: XmlElement, placement: Placement): XmlNode[] {
  const children = [...element.children];
  const at =
    placement === 'first-child'
      ? 0
      : children.findIndex(
          (child) => typeof child !== 'string' && child.kind === 'element' && child.name === 'saml:Issuer',
        ) + 1;
  if (at === 0 && placement === 'after-issuer')
    throw new Error('the element to sign has no saml:Issuer to put its signature after');
  children.splice(at, 0, signature);
  return children;
}

const withChildren = (element: XmlElement, children: XmlNode[]): XmlElement => ({ ...element, children });

/** `root` with `old` (an element of it) replaced by `replacement`: the elements on the way copied, the rest shared. */
function replaced(root: XmlElement, old: XmlElement, replacement: XmlElement): XmlElement {
  if (root === old) return replacement;
  let changed = false;
  const children = root.children.map((child) => {
    if (typeof child === 'string' || child.kind === 'raw') return child;
    const next = replaced(child, old, replacement);
    if (next !== child) changed = true;
    return next;
  });
  return changed ? { ...root, children } : root;
}

function signerFor(elementId: string, key: KeyObject, certificateBody: string | null): SignedXml {
  const signer = new SignedXml({
    privateKey: key as never,
    signatureAlgorithm: RSA_SHA256,
    canonicalizationAlgorithm: EXC_C14N,
    getKeyInfoContent: () =>
      certificateBody === null
        ? null
        : `<ds:X509Data><ds:X509Certificate>${escapeXml(certificateBody)}</ds:X509Certificate></ds:X509Data>`,
  });
  signer.addReference({ xpath: `//*[@ID='${elementId}']`, transforms: [ENVELOPED, EXC_C14N], digestAlgorithm: SHA256 });
  return signer;
}

function signatureLocation(elementId: string, placement: Placement) {
  return {
    prefix: 'ds',
    location:
      placement === 'first-child'
        ? { reference: `//*[@ID='${elementId}']`, action: 'prepend' as const }
        : { reference: `//*[@ID='${elementId}']/*[local-name(.)='Issuer']`, action: 'after' as const },
  };
}

/**
 * Verifies an enveloped signature the only safe way: exactly one ds:Signature, a child of the root;
 * exactly one Reference, to the root's own ID; checked against the pinned certificates only (KeyInfo
 * is never trusted); SHA-1 refused. Returns the signed bytes, re-parsed: callers read every field
 * from that document, never from the one received (signature wrapping).
 */
export function verifyEnveloped(xml: string, certificates: string[]): Document {
  return parseXml(verifiedContent(xml, certificates));
}

/**
 * What {@link verifyEnveloped} checks, returning the signed bytes as text (exclusive c14n of the root
 * element, the Signature removed) for a caller that reads them with a text-taking parser (SP metadata).
 */
export function verifiedContent(xml: string, certificates: string[]): string {
  const received = parseXml(xml);
  const root = received.documentElement;
  const signatures = received.getElementsByTagNameNS(NS.ds, 'Signature');
  const own = children(root, NS.ds, 'Signature');
  if (signatures.length !== 1 || own.length !== 1)
    throw new UnsafeXmlError('the message must carry exactly one signature, as a child of its root element');
  const id = root.getAttribute('ID');
  if (!id) throw new UnsafeXmlError('the signed element has no ID');
  if (duplicateIds(received, id)) throw new UnsafeXmlError('the message has more than one element with the signed ID');
  const references = own[0].getElementsByTagNameNS(NS.ds, 'Reference');
  if (references.length !== 1 || references[0].getAttribute('URI') !== `#${id}`)
    throw new UnsafeXmlError('the signature must reference the root element, and only it');
  const method = own[0].getElementsByTagNameNS(NS.ds, 'SignatureMethod')[0]?.getAttribute('Algorithm') ?? '';
  if (!ACCEPTED_SIGNATURE_ALGORITHMS[method])
    throw new UnsafeXmlError(`the signature algorithm ${method || '(none)'} is not accepted`);
  const digests = Array.from(own[0].getElementsByTagNameNS(NS.ds, 'DigestMethod') as ArrayLike<Element>).map((node) =>
    node.getAttribute('Algorithm'),
  );
  if (digests.some((algorithm) => algorithm === 'http://www.w3.org/2000/09/xmldsig#sha1'))
    throw new UnsafeXmlError('SHA-1 digests are not accepted');

  for (const pem of certificates) {
    const verifier = new SignedXml({ publicCert: pem, getCertFromKeyInfo: () => null });
    verifier.loadSignature(own[0]);
    let valid: boolean;
    try {
      valid = verifier.checkSignature(xml);
    } catch {
      valid = false; // xml-crypto throws on a bad SignatureValue and returns false on a digest mismatch
    }
    if (!valid) continue;
    const [signed] = verifier.getSignedReferences();
    if (!signed) continue;
    return signed;
  }
  throw new UnsafeXmlError('the signature does not verify with the registered certificate(s)');
}

function duplicateIds(doc: Document, id: string): boolean {
  let count = 0;
  const all = doc.getElementsByTagNameNS('*', '*');
  for (let i = 0; i < all.length; i++) if (all[i].getAttribute('ID') === id) count++;
  return count > 1;
}

/**
 * Verifies an HTTP-Redirect binding signature (SAML bindings §3.4.4.1) over the query octets exactly
 * as received: `SAMLRequest=…&RelayState=…&SigAlg=…` (or SAMLResponse), never re-encoded, taken
 * from the same parsed query the message itself is read from (parseRedirectQuery).
 */
export function verifyRedirectSignature(
  query: RedirectQuery,
  certificates: string[],
  messageParam: 'SAMLRequest' | 'SAMLResponse',
): void {
  const sigAlg = query.values.SigAlg ?? '';
  const signature = query.values.Signature;
  const algorithm = ACCEPTED_SIGNATURE_ALGORITHMS[sigAlg];
  if (!signature) throw new UnsafeXmlError('the request is not signed');
  if (!algorithm) throw new UnsafeXmlError(`the signature algorithm ${sigAlg || '(none)'} is not accepted`);
  const signed = ([messageParam, 'RelayState', 'SigAlg'] as const)
    .filter((name) => query.raw[name] !== undefined)
    .map((name) => `${name}=${query.raw[name]}`)
    .join('&');
  const bytes = Buffer.from(signature, 'base64');
  for (const pem of certificates) {
    const verify = createVerify(algorithm);
    verify.update(signed);
    if (verify.verify(new X509Certificate(pem).publicKey, bytes)) return;
  }
  throw new UnsafeXmlError('the signature does not verify with the registered certificate(s)');
}
