// JSON Schemas of the admin API: the validation pipe enforces them and the OpenAPI document
// publishes them, so what is documented is what is checked.

const username = {
  type: 'string',
  pattern: '^[A-Za-z0-9._@-]{1,64}$',
  description: 'Letters, digits and . _ @ -; stored lower-cased.',
};
const password = {
  type: 'string',
  minLength: 8,
  maxLength: 1024,
  writeOnly: true,
  description:
    "At least PASSWORD_MIN_LENGTH characters (default 12) and not a commonly used password (NIST SP 800-63B §5.1.1.2). Changing it ends all the user's sessions and revokes their tokens.",
};
const email = { type: ['string', 'null'], format: 'email', maxLength: 254 };
const name = { type: ['string', 'null'], maxLength: 200 };
const instant = { type: 'string', format: 'date-time' };
const nullableInstant = { type: ['string', 'null'], format: 'date-time' };
/** The administrator's choices for a SAML SP, at registration and later. */
const samlChoices = {
  metadata: { type: 'string', maxLength: 262144, description: 'The SP metadata XML (md:EntityDescriptor).' },
  logoutMethod: { enum: ['frontchannel_iframe', 'frontchannel_native', 'backchannel'] },
  slsBinding: { enum: ['redirect', 'post', 'soap'] },
  signLogoutRequests: { type: 'boolean' },
  requireSignedRequests: { type: 'boolean' },
  allowUnsignedLogoutRequests: {
    type: 'boolean',
    description:
      'Lets an SP without a signing certificate start a logout with an unsigned LogoutRequest: anyone who knows a NameID could then sign that user out (SAML profiles §4.4.4.1 requires a signature). Off by default; ignored while the SP has a certificate. The response lists it under saml.warnings.',
  },
  nameIdSource: { enum: ['persistent', 'email', 'username', 'transient'] },
};

export const schemas = {
  UserCreate: {
    type: 'object',
    required: ['username'],
    additionalProperties: false,
    properties: { username, password, email, name, isAdmin: { type: 'boolean' } },
  },
  UserUpdate: {
    type: 'object',
    minProperties: 1,
    additionalProperties: false,
    properties: {
      password,
      email,
      name,
      isAdmin: { type: 'boolean' },
      isActive: {
        const: true,
        description: 'Reactivates a user. To deactivate, POST /users/{id}/deactivate, which also ends their sessions.',
      },
    },
  },
  User: {
    type: 'object',
    properties: {
      id: { type: 'string' },
      username: { type: 'string' },
      email,
      name,
      isActive: { type: 'boolean' },
      isAdmin: { type: 'boolean' },
      createdAt: instant,
      updatedAt: instant,
      deactivatedAt: nullableInstant,
    },
  },
  Session: {
    type: 'object',
    properties: {
      id: { type: 'string' },
      userId: { type: 'string' },
      authTime: instant,
      lastSeenAt: instant,
      expiresAt: instant,
      createdAt: instant,
      endedAt: nullableInstant,
      endReason: { type: ['string', 'null'] },
      ip: { type: ['string', 'null'] },
      userAgent: { type: ['string', 'null'] },
    },
  },
  AuditEvent: {
    type: 'object',
    properties: {
      id: { type: 'string' },
      at: instant,
      action: { type: 'string' },
      actorType: { type: 'string' },
      actorId: { type: ['string', 'null'] },
      targetType: { type: ['string', 'null'] },
      targetId: { type: ['string', 'null'] },
      ip: { type: ['string', 'null'] },
      requestId: { type: ['string', 'null'] },
      details: { type: ['object', 'null'] },
    },
  },
  ProviderCreate: {
    type: 'object',
    required: ['protocol'],
    additionalProperties: false,
    oneOf: [
      { properties: { protocol: { const: 'oidc' } }, required: ['oidc'], not: { required: ['saml'] } },
      { properties: { protocol: { const: 'saml' } }, required: ['saml'], not: { required: ['oidc'] } },
    ],
    properties: {
      protocol: { enum: ['oidc', 'saml'] },
      saml: {
        type: 'object',
        description:
          'The SP from its metadata XML, or from fields (entityId, acsUrls, singleLogoutServices, certificates) when it publishes none.',
        additionalProperties: false,
        oneOf: [
          { required: ['metadata'], not: { anyOf: [{ required: ['entityId'] }, { required: ['acsUrls'] }] } },
          { required: ['entityId', 'acsUrls'], not: { required: ['metadata'] } },
        ],
        properties: {
          ...samlChoices,
          entityId: { type: 'string', minLength: 1, maxLength: 1024 },
          acsUrls: {
            type: 'array',
            minItems: 1,
            maxItems: 20,
            items: { type: 'string', maxLength: 2048 },
            description: 'HTTP-POST AssertionConsumerService URLs; the first is the default.',
          },
          singleLogoutServices: {
            type: 'array',
            maxItems: 10,
            items: {
              type: 'object',
              required: ['binding', 'url'],
              additionalProperties: false,
              properties: {
                binding: samlChoices.slsBinding,
                url: { type: 'string', maxLength: 2048 },
                responseUrl: { type: ['string', 'null'], maxLength: 2048 },
              },
            },
          },
          certificates: {
            type: 'array',
            maxItems: 5,
            items: { type: 'string', maxLength: 16384 },
            description: 'PEM certificates the SP signs with.',
          },
        },
      },
      slug: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,63}$' },
      name: { type: 'string', minLength: 1, maxLength: 200 },
      enabled: { type: 'boolean' },
      invalidationFlowId: { type: ['string', 'null'] },
      oidc: {
        type: 'object',
        description:
          'OIDC client metadata as in RFC 7591 and the logout specs; logout_token_typ: logout+jwt | JWT; subject_type: public (default) | pairwise (OIDC Core §8.1; the redirect_uris must share one host, and the choice is fixed at registration).',
      },
    },
  },
  ProviderUpdate: {
    type: 'object',
    minProperties: 1,
    additionalProperties: false,
    properties: {
      name: { type: 'string', minLength: 1, maxLength: 200 },
      enabled: { type: 'boolean' },
      invalidationFlowId: { type: ['string', 'null'] },
      oidc: { type: 'object' },
      saml: {
        type: 'object',
        minProperties: 1,
        additionalProperties: false,
        properties: samlChoices,
        description: 'New metadata (same entityID) and/or changed choices; the rest is kept.',
      },
    },
  },
  FlowCreate: {
    type: 'object',
    required: ['slug', 'name'],
    additionalProperties: false,
    properties: {
      slug: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,63}$' },
      name: { type: 'string', minLength: 1, maxLength: 200 },
    },
  },
  StageCreate: {
    type: 'object',
    required: ['name', 'kind'],
    additionalProperties: false,
    properties: {
      name: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,63}$' },
      kind: { enum: ['user_logout', 'provider_logout', 'confirm', 'redirect', 'message'] },
      config: { type: 'object', description: 'redirect: {url}; confirm and message: {text}.' },
    },
  },
  BindingCreate: {
    type: 'object',
    required: ['stageId', 'order'],
    additionalProperties: false,
    properties: { stageId: { type: 'string' }, order: { type: 'integer', minimum: 0, maximum: 100000 } },
  },
  ApiTokenCreate: {
    type: 'object',
    required: ['name'],
    additionalProperties: false,
    not: { required: ['expiresIn', 'expiresAt'] },
    properties: {
      name: { type: 'string', minLength: 1, maxLength: 100 },
      expiresIn: {
        type: 'string',
        pattern: '^\\d{1,9}(ms|s|m|h|d)?$',
        description: 'A lifetime such as 90d or 12h. Without it (or expiresAt) the token lives until revoked.',
      },
      expiresAt: { ...instant, description: 'Or an instant to expire at.' },
    },
  },
  ApiToken: {
    type: 'object',
    description: 'Never the token itself, except once in the answer to its creation (`token`).',
    properties: {
      id: { type: 'string' },
      userId: { type: 'string' },
      username: { type: ['string', 'null'] },
      name: { type: 'string' },
      status: { enum: ['active', 'expired', 'revoked'] },
      createdAt: instant,
      lastUsedAt: nullableInstant,
      expiresAt: nullableInstant,
      revokedAt: nullableInstant,
      token: { type: 'string', description: 'Only in the answer to POST /api-tokens.' },
    },
  },
  Error: {
    type: 'object',
    required: ['error', 'message'],
    properties: { error: { type: 'string' }, message: { type: 'string' }, details: {}, requestId: { type: 'string' } },
  },
} as const;
