import { Inject, Injectable } from '@nestjs/common';
import {
  type AttributeMapping,
  CONFIG,
  type Config,
  GroupsService,
  type SamlServiceProvider,
  SignoffError,
  SUBJECT_SECRET,
  type User,
} from '@signoff/core';
import { createHmac } from 'node:crypto';

/** The NameFormats of SAML core §8.2, by the short names an administrator may use. */
export const ATTRNAME_FORMATS = {
  uri: 'urn:oasis:names:tc:SAML:2.0:attrname-format:uri',
  basic: 'urn:oasis:names:tc:SAML:2.0:attrname-format:basic',
  unspecified: 'urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified',
} as const;

/** An attribute as an assertion carries it: Name, the full NameFormat URI, FriendlyName, and its values. */
export interface SamlAttribute {
  name: string;
  nameFormat: string;
  friendlyName?: string;
  values: string[];
}

/** The user fields an attribute may be valued from (`from`), alone or scoped (`<field>@scope`). */
export const ATTRIBUTE_FIELDS = ['id', 'username', 'email', 'name', 'givenName', 'familyName', 'groups'] as const;
export type AttributeField = (typeof ATTRIBUTE_FIELDS)[number];

export type AttributeProfile = SamlServiceProvider['attributeProfile'];
export type SubjectIdentifier = SamlServiceProvider['subjectIdentifier'];
export const ATTRIBUTE_PROFILES: readonly AttributeProfile[] = ['standard', 'none'];
export const SUBJECT_IDENTIFIERS: readonly SubjectIdentifier[] = ['subject-id', 'pairwise-id'];

/** SAML V2.0 Subject Identifier Attributes Profile v1.0, §3.3 and §3.4. */
export const SUBJECT_ID = 'urn:oasis:names:tc:SAML:attribute:subject-id';
export const PAIRWISE_ID = 'urn:oasis:names:tc:SAML:attribute:pairwise-id';
/** Attributes SPs key their accounts by: never a fixed value. */
const IDENTIFIER_NAMES = [
  SUBJECT_ID,
  PAIRWISE_ID,
  'urn:oid:1.3.6.1.4.1.5923.1.1.1.6',
  'urn:oid:0.9.2342.19200300.100.1.1',
];

/** Bounds on an SP's own mappings: what an administrator could mean, and what keeps assertions small. */
export const MAPPING_LIMITS = { count: 50, name: 1024, friendlyName: 256, nameFormat: 256, value: 1024 } as const;

/**
 * Where a profile attribute's values come from: a user field (or its scoped value), or one of the
 * subject identifiers, which have rules of their own (subjectId and SamlAttributes.pairwiseId, below).
 */
type ProfileSource = string | { identifier: SubjectIdentifier };

interface ProfileAttribute {
  name: string;
  friendlyName: string;
  source: ProfileSource;
}

const uriAttribute = (name: string, friendlyName: string, source: ProfileSource): ProfileAttribute => ({
  name,
  friendlyName,
  source,
});

/**
 * The standard profile research and enterprise federations expect (REFEDS, eduPerson 202208,
 * inetOrgPerson; URI NameFormat with FriendlyName), after the subject identifier the SP was given.
 */
function standardProfile(subjectIdentifier: SubjectIdentifier): ProfileAttribute[] {
  return [
    subjectIdentifier === 'pairwise-id'
      ? uriAttribute(PAIRWISE_ID, 'pairwise-id', { identifier: 'pairwise-id' })
      : uriAttribute(SUBJECT_ID, 'subject-id', { identifier: 'subject-id' }),
    uriAttribute('urn:oid:1.3.6.1.4.1.5923.1.1.1.6', 'eduPersonPrincipalName', 'username@scope'),
    uriAttribute('urn:oid:0.9.2342.19200300.100.1.1', 'uid', 'username'),
    uriAttribute('urn:oid:0.9.2342.19200300.100.1.3', 'mail', 'email'),
    uriAttribute('urn:oid:2.16.840.1.113730.3.1.241', 'displayName', 'name'),
    uriAttribute('urn:oid:2.5.4.42', 'givenName', 'givenName'),
    uriAttribute('urn:oid:2.5.4.4', 'sn', 'familyName'),
    uriAttribute('urn:oid:1.3.6.1.4.1.5923.1.5.1.1', 'isMemberOf', 'groups'),
  ];
}

/** The attribute an SP's settings release: the profile's, with the SP's own mappings replacing those of the same name, then the rest of the SP's. */
interface Release {
  name: string;
  nameFormat: string;
  friendlyName?: string;
  source: ProfileSource | { value: string };
}

/** What an SP is sent, in order, before values are looked up. */
function releaseFor(sp: Pick<SamlServiceProvider, 'attributeProfile' | 'attributeMappings' | 'subjectIdentifier'>) {
  const own = new Map(sp.attributeMappings.map((mapping) => [mapping.name, mapping]));
  const ofMapping = (mapping: AttributeMapping): Release => ({
    name: mapping.name,
    nameFormat: nameFormatUri(mapping.nameFormat),
    ...(mapping.friendlyName !== undefined ? { friendlyName: mapping.friendlyName } : {}),
    source: mapping.value !== undefined ? { value: mapping.value } : mapping.from!,
  });
  const profile = sp.attributeProfile === 'standard' ? standardProfile(sp.subjectIdentifier) : [];
  const released: Release[] = profile.map((attribute) => {
    const replaced = own.get(attribute.name);
    return replaced
      ? ofMapping(replaced)
      : {
          name: attribute.name,
          nameFormat: ATTRNAME_FORMATS.uri,
          friendlyName: attribute.friendlyName,
          source: attribute.source,
        };
  });
  const inProfile = new Set(profile.map((attribute) => attribute.name));
  for (const mapping of sp.attributeMappings) if (!inProfile.has(mapping.name)) released.push(ofMapping(mapping));
  return released;
}

/** The names (and FriendlyNames) an SP's settings release, whether or not a given user has values for them. */
export function releasedAttributeNames(
  sp: Pick<SamlServiceProvider, 'attributeProfile' | 'attributeMappings' | 'subjectIdentifier'>,
): Array<{ name: string; nameFormat: string; friendlyName?: string }> {
  return releaseFor(sp).map(({ name, nameFormat, friendlyName }) => ({
    name,
    nameFormat,
    ...(friendlyName !== undefined ? { friendlyName } : {}),
  }));
}

/** The full NameFormat URI of a short name (`uri`, `basic`, `unspecified`); a URI is kept. */
export const nameFormatUri = (nameFormat: string): string =>
  Object.hasOwn(ATTRNAME_FORMATS, nameFormat)
    ? ATTRNAME_FORMATS[nameFormat as keyof typeof ATTRNAME_FORMATS]
    : nameFormat;

// Syntax checks. An absolute URI (RFC 3986 §4.3: scheme ":" hier-part), as the URI NameFormat needs
// (SAML core §8.2.2); xs:Name for the basic NameFormat (core §8.2.3); no control characters anywhere.
const ABSOLUTE_URI = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s"<>\\^`{|}]+$/;
const XS_NAME = /^[\p{L}_:][\p{L}\p{N}._:\u00B7-]*$/u;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
/** The unique ID before the "@" of subject-id and pairwise-id (Subject Identifier Attributes Profile §3.3, §3.4). */
const UNIQUE_ID = /^[A-Za-z0-9][A-Za-z0-9=-]{0,126}$/;

/** What `from` may say: a field, or a field scoped. */
function parseFrom(from: string): { field: AttributeField; scoped: boolean } | null {
  const [field, scope, ...rest] = from.split('@');
  if (rest.length || (scope !== undefined && scope !== 'scope')) return null;
  if (!(ATTRIBUTE_FIELDS as readonly string[]).includes(field)) return null;
  return { field: field as AttributeField, scoped: scope !== undefined };
}

/**
 * Checks an SP's attribute settings as a whole, as given at registration or after a change, and
 * returns the mappings as stored (only the known keys). Every problem is listed in the error's
 * details (`attributeMappings[i].<key>: …`); nothing is stored when there is one.
 */
export function checkAttributeSettings(input: {
  attributeProfile: string;
  subjectIdentifier: string;
  attributeMappings: unknown;
}): AttributeMapping[] {
  const problems: string[] = [];
  if (!(ATTRIBUTE_PROFILES as readonly string[]).includes(input.attributeProfile))
    problems.push(`attributeProfile: must be one of ${ATTRIBUTE_PROFILES.join(', ')}`);
  if (!(SUBJECT_IDENTIFIERS as readonly string[]).includes(input.subjectIdentifier))
    problems.push(`subjectIdentifier: must be one of ${SUBJECT_IDENTIFIERS.join(', ')}`);
  const given = input.attributeMappings;
  const mappings: AttributeMapping[] = [];
  if (!Array.isArray(given)) problems.push('attributeMappings: must be a list');
  else if (given.length > MAPPING_LIMITS.count)
    problems.push(`attributeMappings: at most ${MAPPING_LIMITS.count} mappings (got ${given.length})`);
  else {
    const seen = new Set<string>();
    given.forEach((raw: unknown, i) => {
      const at = `attributeMappings[${i}]`;
      const mapping = checkMapping(raw, at, problems);
      if (!mapping) return;
      if (seen.has(mapping.name)) problems.push(`${at}.name: "${mapping.name}" is mapped twice`);
      // A user identifier with one fixed value would make every user the same account at the SP.
      if (mapping.value !== undefined && IDENTIFIER_NAMES.includes(mapping.name))
        problems.push(
          `${at}.value: "${mapping.name}" identifies the user; it must come from a user field, not a fixed value`,
        );
      seen.add(mapping.name);
      mappings.push(mapping);
    });
  }
  if (!problems.length) {
    // One subject identifier per SP: the profile has an SP ask for one or the other (its
    // subject-id:req metadata attribute), and an SP given both would not know which keys its users.
    const names = releaseFor({
      attributeProfile: input.attributeProfile as AttributeProfile,
      subjectIdentifier: input.subjectIdentifier as SubjectIdentifier,
      attributeMappings: mappings,
    }).map((release) => release.name);
    if (names.includes(SUBJECT_ID) && names.includes(PAIRWISE_ID))
      problems.push(
        `attributeMappings: the SP would get both subject-id and pairwise-id; send one (subjectIdentifier chooses which the standard profile sends)`,
      );
  }
  if (problems.length)
    throw new SignoffError('invalid_attribute_mapping', 'The SAML attribute settings are invalid.', problems);
  return mappings;
}

/** One mapping checked, or null (with its problems noted). */
function checkMapping(raw: unknown, at: string, problems: string[]): AttributeMapping | null {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    problems.push(`${at}: must be an object with name, nameFormat and from or value`);
    return null;
  }
  const record = raw as Record<string, unknown>;
  const before = problems.length;
  const known = ['name', 'nameFormat', 'friendlyName', 'from', 'value'];
  for (const key of Object.keys(record))
    if (!known.includes(key)) problems.push(`${at}.${key}: unknown member (known: ${known.join(', ')})`);
  const text = (key: string, max: number, required: boolean): string | undefined => {
    const value = record[key];
    if (value === undefined) {
      if (required) problems.push(`${at}.${key}: is required`);
      return undefined;
    }
    if (typeof value !== 'string' || !value.length || value.length > max || CONTROL.test(value)) {
      problems.push(`${at}.${key}: must be 1-${max} characters without control characters`);
      return undefined;
    }
    return value;
  };
  const name = text('name', MAPPING_LIMITS.name, true);
  const nameFormat = text('nameFormat', MAPPING_LIMITS.nameFormat, true);
  const friendlyName = text('friendlyName', MAPPING_LIMITS.friendlyName, false);
  const from = text('from', 64, false);
  const value = text('value', MAPPING_LIMITS.value, false);
  if (nameFormat !== undefined && !Object.hasOwn(ATTRNAME_FORMATS, nameFormat) && !ABSOLUTE_URI.test(nameFormat))
    problems.push(`${at}.nameFormat: must be uri, basic, unspecified or a NameFormat URI (got "${nameFormat}")`);
  if (name !== undefined && nameFormat !== undefined) {
    const format = nameFormatUri(nameFormat);
    if (format === ATTRNAME_FORMATS.uri && !ABSOLUTE_URI.test(name))
      problems.push(`${at}.name: under the uri NameFormat a name is an absolute URI, e.g. urn:oid:… (got "${name}")`);
    if (format === ATTRNAME_FORMATS.basic && !XS_NAME.test(name))
      problems.push(`${at}.name: under the basic NameFormat a name is an xs:Name, without spaces (got "${name}")`);
  }
  if (record.from === undefined && record.value === undefined)
    problems.push(`${at}: give either from (a user field) or value (a fixed value)`);
  else if (record.from !== undefined && record.value !== undefined)
    problems.push(`${at}: give either from or value, not both`);
  if (from !== undefined && !parseFrom(from))
    problems.push(
      `${at}.from: unknown field "${from}"; one of ${ATTRIBUTE_FIELDS.join(', ')}, or <field>@scope for a scoped value`,
    );
  if (problems.length > before) return null;
  return {
    name: name!,
    nameFormat: nameFormat!,
    ...(friendlyName !== undefined ? { friendlyName } : {}),
    ...(from !== undefined ? { from } : { value: value! }),
  };
}

/**
 * The attributes an SP receives for a user: its profile and its own mappings (see releaseFor), each
 * with the user's values. An attribute without a value (no email, no groups) is left out, never sent
 * empty (an empty AttributeValue would say the user has an empty email).
 */
@Injectable()
export class SamlAttributes {
  constructor(
    private readonly groups: GroupsService,
    @Inject(CONFIG) private readonly config: Config,
    @Inject(SUBJECT_SECRET) private readonly secret: string,
  ) {}

  async of(
    sp: Pick<SamlServiceProvider, 'entityId' | 'attributeProfile' | 'attributeMappings' | 'subjectIdentifier'>,
    user: User,
  ): Promise<SamlAttribute[]> {
    const scope = this.config.saml.scope;
    let groups: Promise<string[]> | undefined;
    const field = async (name: AttributeField): Promise<string[]> => {
      if (name === 'groups') return (groups ??= this.groups.namesOf(user.id));
      const value = user[name];
      return value ? [value] : [];
    };
    const valuesOf = async (source: Release['source']): Promise<string[]> => {
      if (typeof source === 'object' && 'value' in source) return [source.value];
      if (typeof source === 'object')
        return source.identifier === 'pairwise-id' ? [this.pairwiseId(sp, user)] : subjectId(user, scope);
      const { field: name, scoped } = parseFrom(source)!;
      const values = await field(name);
      // A value that holds "@" has no unambiguous scope: left out rather than sent as "a@b@scope".
      return scoped ? values.filter((value) => !value.includes('@')).map((value) => `${value}@${scope}`) : values;
    };
    const attributes: SamlAttribute[] = [];
    for (const release of releaseFor(sp)) {
      const values = await valuesOf(release.source);
      if (!values.length) continue;
      attributes.push({
        name: release.name,
        nameFormat: release.nameFormat,
        ...(release.friendlyName !== undefined ? { friendlyName: release.friendlyName } : {}),
        values,
      });
    }
    return attributes;
  }

  /**
   * pairwise-id (Subject Identifier Attributes Profile §3.4): an opaque unique ID per (SP, user),
   * an HMAC-SHA256 under SUBJECT_SECRET of the SP's entityID and the user's id, so SPs cannot link
   * users and nobody without the secret can recompute it. Keyed by entityID, not the registration,
   * so an SP registered again keeps its users. Written in lower-case base32 (52 characters): the
   * profile allows only letters, digits, "=" and "-", compares values without regard to case, and
   * recommends one case (§3.3); the persistent NameID's base64url has "_" and both cases.
   */
  private pairwiseId(sp: Pick<SamlServiceProvider, 'entityId'>, user: User): string {
    const digest = createHmac('sha256', this.secret).update(`saml-pairwise-id\0${sp.entityId}\0${user.id}`).digest();
    return `${base32(digest)}@${this.config.saml.scope}`;
  }
}

/**
 * subject-id (Subject Identifier Attributes Profile §3.3): `username@scope`, the same at every SP.
 * A username outside the profile's unique-ID syntax (letters, digits, "=" and "-", e.g. one with a
 * "." or "@") gives no subject-id rather than a malformed one.
 */
function subjectId(user: User, scope: string): string[] {
  return UNIQUE_ID.test(user.username) ? [`${user.username}@${scope}`] : [];
}

/** RFC 4648 §6 base32, lower case, without padding. */
function base32(bytes: Buffer): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = ((value << 8) | byte) & 0xfff; // only the bits not yet written are kept
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}
