import { SignoffError } from '@signoff/core';
import {
  ATTRNAME_FORMATS,
  checkAttributeSettings,
  PAIRWISE_ID,
  releasedAttributeNames,
  SUBJECT_ID,
} from './attributes';

const settings = (
  attributeMappings: unknown,
  more: { attributeProfile?: string; subjectIdentifier?: string } = {},
) => ({
  attributeProfile: 'standard',
  subjectIdentifier: 'subject-id',
  attributeMappings,
  ...more,
});

/** The details of the refusal of `input`, which must be an invalid_attribute_mapping SignoffError. */
function problems(input: ReturnType<typeof settings>): string[] {
  try {
    checkAttributeSettings(input);
  } catch (error) {
    expect(error).toBeInstanceOf(SignoffError);
    expect((error as SignoffError).code).toBe('invalid_attribute_mapping');
    expect((error as SignoffError).status).toBe(400);
    return (error as SignoffError).details as string[];
  }
  throw new Error('accepted');
}

describe('checkAttributeSettings', () => {
  it('accepts fields, scoped fields and fixed values under each NameFormat, and keeps only the known keys', () => {
    const mappings = [
      { name: 'urn:oid:2.5.4.3', nameFormat: 'uri', friendlyName: 'cn', from: 'name' },
      { name: 'memberOf', nameFormat: 'basic', from: 'groups' },
      { name: 'Employee Number', nameFormat: 'unspecified', from: 'id' },
      { name: 'scopedUid', nameFormat: ATTRNAME_FORMATS.basic, from: 'username@scope' },
      { name: 'https://example.org/attributes/tier', nameFormat: ATTRNAME_FORMATS.uri, value: 'gold' },
      { name: 'x', nameFormat: 'urn:example:custom-format', from: 'familyName' },
    ];
    expect(checkAttributeSettings(settings(mappings))).toEqual(mappings);
    expect(
      checkAttributeSettings(settings([], { attributeProfile: 'none', subjectIdentifier: 'pairwise-id' })),
    ).toEqual([]);
  });

  it.each([
    [
      'a fixed value for an attribute SPs key their accounts by (every user would be one account)',
      [{ name: 'urn:oid:1.3.6.1.4.1.5923.1.1.1.6', nameFormat: 'uri', value: 'everyone@example.org' }],
      'attributeMappings[0].value: "urn:oid:1.3.6.1.4.1.5923.1.1.1.6" identifies the user; it must come from a user field, not a fixed value',
    ],
    [
      'an unknown from field',
      [{ name: 'phone', nameFormat: 'basic', from: 'phone' }],
      'attributeMappings[0].from: unknown field "phone"; one of id, username, email, name, givenName, familyName, groups, or <field>@scope for a scoped value',
    ],
    [
      'a scope other than @scope',
      [{ name: 'eppn', nameFormat: 'basic', from: 'username@example.org' }],
      'attributeMappings[0].from: unknown field "username@example.org"',
    ],
    [
      'both from and value',
      [{ name: 'mail', nameFormat: 'basic', from: 'email', value: 'x' }],
      'attributeMappings[0]: give either from or value, not both',
    ],
    [
      'neither from nor value',
      [{ name: 'mail', nameFormat: 'basic' }],
      'attributeMappings[0]: give either from (a user field) or value (a fixed value)',
    ],
    [
      'a name that is not a URI under the uri NameFormat',
      [{ name: 'mail', nameFormat: 'uri', from: 'email' }],
      'attributeMappings[0].name: under the uri NameFormat a name is an absolute URI, e.g. urn:oid:… (got "mail")',
    ],
    [
      'a name with a space under the basic NameFormat',
      [{ name: 'e mail', nameFormat: 'basic', from: 'email' }],
      'attributeMappings[0].name: under the basic NameFormat a name is an xs:Name, without spaces (got "e mail")',
    ],
    [
      'an unknown NameFormat',
      [{ name: 'mail', nameFormat: 'ldap', from: 'email' }],
      'attributeMappings[0].nameFormat: must be uri, basic, unspecified or a NameFormat URI (got "ldap")',
    ],
    [
      'a name mapped twice',
      [
        { name: 'mail', nameFormat: 'basic', from: 'email' },
        { name: 'mail', nameFormat: 'basic', value: 'x' },
      ],
      'attributeMappings[1].name: "mail" is mapped twice',
    ],
    ['a missing name', [{ nameFormat: 'basic', from: 'email' }], 'attributeMappings[0].name: is required'],
    [
      'an unknown member',
      [{ name: 'mail', nameFormat: 'basic', from: 'email', required: true }],
      'attributeMappings[0].required: unknown member (known: name, nameFormat, friendlyName, from, value)',
    ],
    [
      'a control character',
      [{ name: 'mail', nameFormat: 'basic', value: 'a\nb' }],
      'attributeMappings[0].value: must be 1-1024 characters without control characters',
    ],
    [
      'an overlong name',
      [{ name: `urn:x:${'a'.repeat(1020)}`, nameFormat: 'uri', from: 'email' }],
      'attributeMappings[0].name: must be 1-1024 characters without control characters',
    ],
    [
      'not an object',
      ['mail=email'],
      'attributeMappings[0]: must be an object with name, nameFormat and from or value',
    ],
    [
      'pairwise-id beside the profile subject-id',
      [{ name: PAIRWISE_ID, nameFormat: 'uri', from: 'id@scope' }],
      'attributeMappings: the SP would get both subject-id and pairwise-id; send one (subjectIdentifier chooses which the standard profile sends)',
    ],
  ])('refuses %s', (_case, mappings, problem) => {
    expect(problems(settings(mappings))[0]).toContain(problem);
  });

  it('refuses more than 50 mappings, an unknown profile and an unknown subject identifier', () => {
    const many = Array.from({ length: 51 }, (_, i) => ({ name: `a${i}`, nameFormat: 'basic', from: 'id' }));
    expect(problems(settings(many))).toEqual(['attributeMappings: at most 50 mappings (got 51)']);
    expect(problems(settings([], { attributeProfile: 'all', subjectIdentifier: 'email' }))).toEqual([
      'attributeProfile: must be one of standard, none',
      'subjectIdentifier: must be one of subject-id, pairwise-id',
    ]);
    expect(problems(settings({ name: 'mail' }))).toEqual(['attributeMappings: must be a list']);
  });

  it('lists every problem of every mapping at once', () => {
    expect(
      problems(
        settings([
          { name: 'ok', nameFormat: 'basic', from: 'email' },
          { name: 'mail', nameFormat: 'uri', from: 'phone' },
        ]),
      ),
    ).toEqual([
      'attributeMappings[1].name: under the uri NameFormat a name is an absolute URI, e.g. urn:oid:… (got "mail")',
      'attributeMappings[1].from: unknown field "phone"; one of id, username, email, name, givenName, familyName, groups, or <field>@scope for a scoped value',
    ]);
  });

  it('lets an SP without the standard profile, or that replaces its subject identifier, name either one', () => {
    const pairwise = [{ name: PAIRWISE_ID, nameFormat: 'uri', from: 'id@scope' }];
    expect(checkAttributeSettings(settings(pairwise, { attributeProfile: 'none' }))).toEqual(pairwise);
    expect(checkAttributeSettings(settings(pairwise, { subjectIdentifier: 'pairwise-id' }))).toEqual(pairwise);
  });
});

describe('releasedAttributeNames', () => {
  const standard = [
    SUBJECT_ID,
    'urn:oid:1.3.6.1.4.1.5923.1.1.1.6',
    'urn:oid:0.9.2342.19200300.100.1.1',
    'urn:oid:0.9.2342.19200300.100.1.3',
    'urn:oid:2.16.840.1.113730.3.1.241',
    'urn:oid:2.5.4.42',
    'urn:oid:2.5.4.4',
    'urn:oid:1.3.6.1.4.1.5923.1.5.1.1',
  ];

  it('is the standard profile (URI NameFormat, FriendlyNames), then the SP’s own mappings', () => {
    const released = releasedAttributeNames({
      attributeProfile: 'standard',
      subjectIdentifier: 'subject-id',
      attributeMappings: [{ name: 'email', nameFormat: 'basic', from: 'email' }],
    });
    expect(released.map((attribute) => attribute.name)).toEqual([...standard, 'email']);
    expect(released[0]).toEqual({ name: SUBJECT_ID, nameFormat: ATTRNAME_FORMATS.uri, friendlyName: 'subject-id' });
    expect(released.map((attribute) => attribute.friendlyName)).toEqual([
      'subject-id',
      'eduPersonPrincipalName',
      'uid',
      'mail',
      'displayName',
      'givenName',
      'sn',
      'isMemberOf',
      undefined,
    ]);
    expect(released[8]).toEqual({ name: 'email', nameFormat: ATTRNAME_FORMATS.basic });
  });

  it('sends pairwise-id instead of subject-id when the SP is set to it', () => {
    const names = releasedAttributeNames({
      attributeProfile: 'standard',
      subjectIdentifier: 'pairwise-id',
      attributeMappings: [],
    }).map((attribute) => attribute.name);
    expect(names).toEqual([PAIRWISE_ID, ...standard.slice(1)]);
  });

  it('replaces a profile attribute in place by an SP mapping of the same name; none sends the mappings only', () => {
    const mail = { name: 'urn:oid:0.9.2342.19200300.100.1.3', nameFormat: 'uri', value: 'shared@example.org' };
    const released = releasedAttributeNames({
      attributeProfile: 'standard',
      subjectIdentifier: 'subject-id',
      attributeMappings: [mail],
    });
    expect(released.map((attribute) => attribute.name)).toEqual(standard);
    expect(released[3]).toEqual({ name: mail.name, nameFormat: ATTRNAME_FORMATS.uri });
    expect(
      releasedAttributeNames({ attributeProfile: 'none', subjectIdentifier: 'subject-id', attributeMappings: [mail] }),
    ).toEqual([{ name: mail.name, nameFormat: ATTRNAME_FORMATS.uri }]);
  });
});
