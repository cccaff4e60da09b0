// JSON Schemas of the admin API: the validation pipe enforces them and the OpenAPI document
// publishes them, so what is documented is what is checked.

import { ACTOR_TYPES, DELIVERY_STATUSES, LOGOUT_TRIGGERS } from '@signoff/core';

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
const email = {
  type: ['string', 'null'],
  format: 'email',
  maxLength: 254,
  description: 'Changing it makes it unverified (emailVerified false) unless the same request sets emailVerified.',
};
const name = {
  type: ['string', 'null'],
  maxLength: 200,
  description: 'Full name, as shown (OIDC name, SAML displayName).',
};
/** The rest of the profile applications read (OIDC profile and email claims, SAML attributes). */
const profile = {
  givenName: { type: ['string', 'null'], maxLength: 100, description: 'OIDC given_name, SAML givenName.' },
  familyName: { type: ['string', 'null'], maxLength: 100, description: 'OIDC family_name, SAML sn.' },
  emailVerified: {
    type: 'boolean',
    description: 'Whether the address is known to belong to the user (OIDC email_verified); true only with an email.',
  },
};
const groupName = {
  type: 'string',
  minLength: 1,
  maxLength: 64,
  description:
    'Lower-case letters, digits and . _ - (1–64, starting with a letter or digit; stored lower-cased); unique. What applications see (OIDC groups claim, SAML isMemberOf).',
};
const groupDescription = { type: ['string', 'null'], maxLength: 200 };
const instant = { type: 'string', format: 'date-time' };
const nullableInstant = { type: ['string', 'null'], format: 'date-time' };
/** The administrator's choices for a SAML SP, at registration and later. */
const samlChoices = {
  metadata: { type: 'string', maxLength: 262144, description: 'The SP metadata XML (md:EntityDescriptor).' },
  metadataUrl: {
    type: ['string', 'null'],
    maxLength: 2048,
    description:
      "Where to fetch the SP's metadata (http or https; through the outbound policy, so a private or loopback address needs OUTBOUND_ALLOW); the worker refreshes it every SAML_METADATA_REFRESH (or the metadata's cacheDuration, when shorter). At a change: fetched again now (same entityID); null: fetched no more, the metadata stays.",
  },
  metadataSigningCertificate: {
    type: ['string', 'null'],
    maxLength: 16384,
    description:
      'The certificate (PEM or base64 DER) the fetched metadata must carry an enveloped signature by, over its root element (federation style); null or absent: unsigned metadata is accepted.',
  },
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
  attributeProfile: {
    enum: ['standard', 'none'],
    description:
      'standard (the default): subject-id or pairwise-id, eduPersonPrincipalName, uid, mail, displayName, givenName, sn and isMemberOf (URI NameFormat, with FriendlyName), plus attributeMappings; none: attributeMappings only.',
  },
  subjectIdentifier: {
    enum: ['subject-id', 'pairwise-id'],
    description:
      'What the standard profile sends as the subject identifier: subject-id (username@SAML_SCOPE, the same at every SP; the default) or pairwise-id (an opaque value@SAML_SCOPE, different at each SP).',
  },
  attributeMappings: {
    type: 'array',
    maxItems: 50,
    description:
      "The SP's own attributes, added to the profile; one with the same name as a profile attribute replaces it. At a change, the whole new list.",
    items: {
      type: 'object',
      required: ['name', 'nameFormat'],
      additionalProperties: false,
      properties: {
        name: {
          type: 'string',
          minLength: 1,
          maxLength: 1024,
          description: 'An absolute URI under the uri NameFormat (e.g. urn:oid:…), an xs:Name under basic.',
        },
        nameFormat: {
          type: 'string',
          minLength: 1,
          maxLength: 256,
          description: 'uri, basic, unspecified, or a NameFormat URI.',
        },
        friendlyName: { type: 'string', minLength: 1, maxLength: 256 },
        from: {
          type: 'string',
          maxLength: 64,
          description:
            'A user field: id, username, email, name, givenName, familyName, groups (one value per group); or <field>@scope for a value scoped with SAML_SCOPE. Either from or value.',
        },
        value: { type: 'string', minLength: 1, maxLength: 1024, description: 'A fixed value. Either from or value.' },
      },
    },
  },
  logoutReturnUrls: {
    type: 'array',
    maxItems: 20,
    items: { type: 'string', minLength: 1, maxLength: 2048 },
    description:
      'Where GET|POST /logout?return_to=<url>&client_id=<entityID> may send the browser after the logout: absolute https URLs (http only for localhost and 127.0.0.0/8), matched exactly (scheme and host without regard to case), or with one wildcard first label (https://*.example.com/bye matches https://a.example.com/bye only). At a change, the whole new list.',
  },
  encryptAssertions: {
    type: 'boolean',
    description:
      "Encrypt assertions to the SP's encryption certificate (its metadata's md:KeyDescriptor use=\"encryption\", or one without use): AES-256-GCM content, or AES-128-CBC when the SP's md:EncryptionMethods list it and not AES-256-GCM; the key transported with RSA-OAEP (rsa-oaep-mgf1p). Off by default; refused (400) when the metadata has no RSA encryption certificate of at least 2048 bits. The view shows saml.encryptionCertificates (how many) and saml.assertionEncryption (the algorithms, or null when the SP cannot be sent encrypted assertions).",
  },
};

/** OIDC providers only: whether users are asked for consent before the client gets a code. */
const consentRequired = {
  type: 'boolean',
  description:
    'OIDC only: ask users for consent before the first code. Clients registered through /oauth2/register are third-party (true); set false to mark one first-party. Default false for clients an administrator registers.',
};

const deliveryStatuses = DELIVERY_STATUSES;
/** A logout operation's own fields, in the list and the detail. */
const logoutOperationFields = {
  id: { type: 'string' },
  trigger: { enum: LOGOUT_TRIGGERS },
  initiatorType: { enum: ['user', 'admin', 'system', 'provider', 'anonymous'] },
  initiatorId: { type: ['string', 'null'] },
  initiatingProviderId: { type: ['string', 'null'] },
  idpSessionIds: { type: 'array', items: { type: 'string' } },
  createdAt: instant,
  completedAt: nullableInstant,
  outcome: { enum: ['complete', 'partial', 'failed', null], description: 'null while deliveries are under way.' },
};

/** Binding a flow that ends no session (no user_logout or provider_logout stage) needs the administrator's say-so. */
const confirmEndsNoSession = {
  type: 'boolean',
  description:
    'true: bind invalidationFlowId even though that flow ends no session (no user_logout or provider_logout stage). Without it, such a flow is refused with 409 flow_ends_no_session and nothing changes.',
};

/** Certificates added and removed by a metadata change, by SHA-256 fingerprint. */
const certificateChange = {
  type: 'object',
  properties: {
    added: { type: 'array', items: { type: 'string' }, description: 'SHA-256 fingerprints.' },
    removed: { type: 'array', items: { type: 'string' }, description: 'SHA-256 fingerprints.' },
  },
};
/** A setting a metadata change changed: what it was and what it is. */
const beforeAfter = (description: string, value: object = {}) => ({
  type: 'object',
  description,
  properties: { before: value, after: value },
});

/** Users per bulk deactivation: a call's transaction and logout stay bounded (10 applications each: 10,000 deliveries). */
export const MAX_BULK_USERS = 1000;

export const schemas = {
  UserCreate: {
    type: 'object',
    required: ['username'],
    additionalProperties: false,
    properties: { username, password, email, name, ...profile, isAdmin: { type: 'boolean' } },
  },
  UserUpdate: {
    type: 'object',
    minProperties: 1,
    additionalProperties: false,
    properties: {
      password,
      email,
      name,
      ...profile,
      isAdmin: { type: 'boolean' },
      isActive: {
        const: true,
        description: 'Reactivates a user. To deactivate, POST /users/{id}/deactivate, which also ends their sessions.',
      },
    },
  },
  UsersDeactivate: {
    type: 'object',
    required: ['ids'],
    additionalProperties: false,
    properties: {
      ids: {
        type: 'array',
        minItems: 1,
        maxItems: MAX_BULK_USERS,
        uniqueItems: true,
        description: `The users to deactivate, by id (at most ${MAX_BULK_USERS} per call).`,
        items: { type: 'string', pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' },
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
      ...profile,
      isActive: { type: 'boolean' },
      isAdmin: { type: 'boolean' },
      createdAt: instant,
      updatedAt: instant,
      deactivatedAt: nullableInstant,
      groups: {
        type: 'array',
        description: 'Only in GET /users/{id}: the groups the user belongs to, by name.',
        items: { type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' } } },
      },
    },
  },
  GroupCreate: {
    type: 'object',
    required: ['name'],
    additionalProperties: false,
    properties: { name: groupName, description: groupDescription },
  },
  GroupMemberAdd: {
    type: 'object',
    additionalProperties: false,
    oneOf: [{ required: ['userId'] }, { required: ['username'] }],
    properties: { userId: { type: 'string', maxLength: 36 }, username },
  },
  Group: {
    type: 'object',
    properties: {
      id: { type: 'string' },
      name: { type: 'string' },
      description: groupDescription,
      createdAt: instant,
      updatedAt: instant,
      members: {
        type: 'array',
        description: 'Not in the list: the members, by username.',
        items: { type: 'object', properties: { id: { type: 'string' }, username: { type: 'string' } } },
      },
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
    description: 'Who did what to whom, when. Append-only.',
    required: ['id', 'at', 'action', 'actorType', 'actorId', 'targetType', 'targetId', 'ip', 'requestId', 'details'],
    properties: {
      id: { type: 'string', format: 'uuid' },
      at: instant,
      action: { type: 'string', maxLength: 64, description: 'Such as user.created, keys.rotated, session.started.' },
      actorType: {
        enum: ACTOR_TYPES,
        description: 'user: for themselves; admin; system: Signoff itself; provider: an application; anonymous.',
      },
      actorId: {
        type: ['string', 'null'],
        description: "The user's or administrator's user id, or the provider's id; null for system and anonymous.",
      },
      targetType: {
        type: ['string', 'null'],
        description: 'user, group, provider, flow, stage, idp_session, logout_operation, logout_delivery, …',
      },
      targetId: { type: ['string', 'null'] },
      ip: { type: ['string', 'null'], description: 'The client address of the request that did it.' },
      requestId: { type: ['string', 'null'], description: "The request's id (X-Request-Id), as in the logs." },
      details: {
        type: ['object', 'null'],
        additionalProperties: true,
        description: "The action's own facts (names, changed fields, kids, reasons); never secrets.",
      },
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
          'The SP from its metadata XML, from a metadataUrl (fetched now and refreshed by the worker), or from fields (entityId, acsUrls, singleLogoutServices, certificates) when it publishes none.',
        additionalProperties: false,
        oneOf: [
          {
            required: ['metadata'],
            not: { anyOf: [{ required: ['entityId'] }, { required: ['acsUrls'] }, { required: ['metadataUrl'] }] },
          },
          {
            required: ['entityId', 'acsUrls'],
            not: { anyOf: [{ required: ['metadata'] }, { required: ['metadataUrl'] }] },
          },
          {
            required: ['metadataUrl'],
            not: { anyOf: [{ required: ['metadata'] }, { required: ['entityId'] }, { required: ['acsUrls'] }] },
          },
        ],
        properties: {
          ...samlChoices,
          metadataUrl: { ...samlChoices.metadataUrl, type: 'string' },
          metadataSigningCertificate: { ...samlChoices.metadataSigningCertificate, type: 'string' },
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
      confirmEndsNoSession,
      oidc: {
        type: 'object',
        description:
          'OIDC client metadata as in RFC 7591 and the logout specs; client_uri: a web page of the client, linked from the home page of its users; logout_token_typ: logout+jwt | JWT; subject_type: public (default) | pairwise (OIDC Core §8.1; the redirect_uris must share one host, and the choice is fixed at registration); client_id: the client_id to register (1–128 letters, digits, . _ ~ -; unique, else 409), random when absent.',
      },
      consentRequired,
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
      confirmEndsNoSession,
      oidc: { type: 'object', description: 'The full new metadata; a client_id in it must be the one registered.' },
      consentRequired,
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
  FlowUpdate: {
    type: 'object',
    minProperties: 1,
    additionalProperties: false,
    properties: {
      slug: {
        type: 'string',
        pattern: '^[a-z0-9][a-z0-9-]{0,63}$',
        description: 'Unique (409 otherwise); the default flows keep theirs (400).',
      },
      name: { type: 'string', minLength: 1, maxLength: 200 },
    },
  },
  BindingOrder: {
    type: 'object',
    required: ['order'],
    additionalProperties: false,
    properties: {
      order: {
        type: 'array',
        maxItems: 100,
        items: { type: 'string', maxLength: 36 },
        description:
          "Every binding id of the flow (Flow.stages[].bindingId), each once, in the new order; anything else is a 400 listing each id missing, foreign or repeated. The flow's order numbers are handed out in this sequence.",
      },
    },
  },
  StageUpdate: {
    type: 'object',
    minProperties: 1,
    additionalProperties: false,
    description: 'The kind cannot change: create a new stage instead.',
    properties: {
      name: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,63}$' },
      config: {
        type: 'object',
        description:
          "The whole new config, checked as at creation for the stage's kind: redirect {url} (absolute http or https), confirm and message {text}.",
      },
    },
  },
  Stage: {
    type: 'object',
    properties: {
      id: { type: 'string' },
      name: { type: 'string' },
      kind: { enum: ['user_logout', 'provider_logout', 'confirm', 'redirect', 'message'] },
      config: {
        type: 'object',
        description: 'redirect: {url}; confirm and message: {text}; the logout stages: {}.',
        properties: { url: { type: 'string' }, text: { type: 'string' } },
      },
      createdAt: instant,
    },
  },
  Flow: {
    type: 'object',
    properties: {
      id: { type: 'string' },
      slug: { type: 'string' },
      name: { type: 'string' },
      isDefault: {
        type: 'boolean',
        description: 'default-invalidation-flow or default-provider-invalidation-flow: cannot be deleted.',
      },
      stages: {
        type: 'array',
        description: 'The bound stages in the order they run.',
        items: {
          type: 'object',
          properties: {
            bindingId: { type: 'string' },
            order: { type: 'integer' },
            stage: { $ref: '#/components/schemas/Stage' },
          },
        },
      },
      endsNoSession: {
        type: 'boolean',
        description:
          'No user_logout or provider_logout stage: running it signs nobody out. Binding it to an application needs confirmEndsNoSession.',
      },
      warnings: {
        type: 'array',
        items: { type: 'string' },
        description: 'What an administrator should know, in words.',
      },
    },
  },
  Provider: {
    type: 'object',
    properties: {
      id: { type: 'string' },
      slug: { type: 'string' },
      name: { type: 'string' },
      protocol: { enum: ['oidc', 'saml'] },
      enabled: { type: 'boolean' },
      invalidationFlowId: { type: ['string', 'null'], description: 'null: the default flow.' },
      createdAt: instant,
      updatedAt: instant,
      liveSessions: {
        type: 'integer',
        description: 'Sessions users have at the application now: what deleting it (with end_sessions=true) ends.',
      },
      oidc: {
        type: 'object',
        description: 'OIDC clients: the registered metadata as RFC 7591 returns it, with client_id.',
        properties: { client_id: { type: 'string' }, token_endpoint_auth_method: { type: 'string' } },
      },
      consentRequired: { type: 'boolean', description: 'OIDC clients only.' },
      saml: {
        type: 'object',
        description: "SAML SPs: the SP's settings (entityId, endpoints, logout method, attributes) and saml.warnings.",
        properties: { entityId: { type: 'string' }, warnings: { type: 'array', items: { type: 'string' } } },
      },
    },
  },
  ProviderRemoval: {
    type: 'object',
    description: 'A deleted application whose live sessions were ended: the logout operation to watch.',
    properties: {
      operationId: { type: 'string', description: 'GET /logout-operations/{operationId} shows its deliveries.' },
      endedSessions: { type: 'integer' },
    },
  },
  RotatedSecret: {
    type: 'object',
    properties: {
      clientSecret: { type: 'string', description: 'The new secret, shown this once.' },
      provider: { $ref: '#/components/schemas/Provider' },
    },
  },
  SigningKey: {
    type: 'object',
    description: 'Never the key material.',
    properties: {
      kid: { type: 'string', description: 'RFC 7638 thumbprint.' },
      use: { enum: ['oidc', 'saml'] },
      alg: { enum: ['ES256', 'RS256'] },
      state: {
        enum: ['next', 'active', 'retired'],
        description:
          'next: published, signs after the next rotation; active: signs; retired: published a while longer.',
      },
      createdAt: instant,
      activatedAt: instant,
      retiredAt: instant,
      publishedUntil: {
        ...nullableInstant,
        description: 'null while next or active; retiredAt + KEY_RETIRED_PUBLISHED_FOR once retired.',
      },
      published: { type: 'boolean' },
      certificateNotAfter: { ...instant, description: "SAML keys: the self-signed certificate's notAfter." },
    },
  },
  Endpoints: {
    type: 'object',
    properties: {
      oidc: {
        type: 'object',
        properties: { issuer: { type: 'string' }, discovery: { type: 'string' }, jwks: { type: 'string' } },
      },
      saml: {
        type: 'object',
        properties: {
          entityId: { type: 'string' },
          metadata: { type: 'string' },
          singleSignOn: { type: 'string' },
          singleLogout: { type: 'string' },
          singleLogoutSoap: { type: 'string' },
        },
      },
    },
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
      scopes: {
        type: 'array',
        minItems: 1,
        maxItems: 1,
        items: { enum: ['admin', 'global_token_revocation'] },
        description:
          'What the token may do, one scope: `admin`, the admin API (the default); `global_token_revocation`, only POST /oauth2/global-token-revocation (a token for that call alone, as the draft asks).',
      },
    },
  },
  SsfReceiverCreate: {
    type: 'object',
    required: ['name'],
    additionalProperties: false,
    properties: {
      name: { type: 'string', minLength: 1, maxLength: 200 },
      slug: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,63}$', description: 'Default: from the name.' },
      audience: {
        type: 'string',
        minLength: 1,
        maxLength: 1024,
        description: "The `aud` of the receiver's stream and SETs. Default: {issuer}/ssf/receivers/{id}.",
      },
      subjectFormat: {
        enum: ['iss_sub', 'email'],
        description:
          'How events name the user: iss_sub (the default; sub is the public subject) or email (iss_sub for users without one).',
      },
    },
  },
  SsfReceiver: {
    type: 'object',
    description:
      'A Shared Signals receiver and its stream (at most one). Never its token, nor its push Authorization header.',
    properties: {
      id: { type: 'string' },
      slug: { type: 'string' },
      name: { type: 'string' },
      audience: { type: 'string' },
      subjectFormat: { enum: ['iss_sub', 'email'] },
      createdAt: instant,
      stream: {
        type: ['object', 'null'],
        properties: {
          streamId: { type: 'string' },
          status: { enum: ['enabled', 'paused', 'disabled'] },
          reason: { type: ['string', 'null'] },
          deliveryMethod: { enum: ['urn:ietf:rfc:8935', 'urn:ietf:rfc:8936'] },
          endpointUrl: { type: ['string', 'null'], description: "Push: the receiver's endpoint; poll: null." },
          eventsRequested: { type: 'array', items: { type: 'string' } },
          eventsDelivered: { type: 'array', items: { type: 'string' } },
          description: { type: ['string', 'null'] },
          createdAt: instant,
          updatedAt: instant,
        },
      },
    },
  },
  SsfReceiverCreated: {
    type: 'object',
    properties: {
      receiver: { $ref: '#/components/schemas/SsfReceiver' },
      token: { type: 'string', description: "The receiver's bearer token: in this answer once, and never again." },
    },
  },
  SsfReceiverToken: {
    type: 'object',
    properties: { token: { type: 'string', description: 'The new bearer token (the old one no longer works).' } },
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
      scopes: { type: 'array', items: { enum: ['admin', 'global_token_revocation'] } },
      createdAt: instant,
      lastUsedAt: nullableInstant,
      expiresAt: nullableInstant,
      revokedAt: nullableInstant,
      token: { type: 'string', description: 'Only in the answer to POST /api-tokens.' },
    },
  },
  LiveSession: {
    type: 'object',
    description: 'A live IdP session (GET /sessions): the session, its user, and the applications signed in to in it.',
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
      user: { type: 'object', properties: { id: { type: 'string' }, username: { type: 'string' } } },
      applications: {
        type: 'array',
        description: 'The applications with a live provider session in this session, by name.',
        items: {
          type: 'object',
          properties: {
            providerId: { type: 'string' },
            slug: { type: 'string' },
            name: { type: 'string' },
            protocol: { enum: ['oidc', 'saml'] },
          },
        },
      },
    },
  },
  EndedSessions: {
    type: 'object',
    description: 'A logout started by an administrator: the IdP sessions it ended, and the operation to watch.',
    properties: {
      endedSessions: { type: 'array', items: { type: 'string' } },
      operationId: { type: 'string', description: 'GET /logout-operations/{operationId}' },
    },
  },
  LogoutOperationSummary: {
    type: 'object',
    description:
      'A logout operation as listed: who and what started it, its outcome, the users it is about, and its deliveries counted by status.',
    properties: {
      ...logoutOperationFields,
      userIds: {
        type: 'array',
        items: { type: 'string' },
        description: 'The users it is about: those of the sessions it ended, and those whose grants it ended.',
      },
      deliveryCounts: {
        type: 'object',
        description: 'How many deliveries are in each status; statuses with none are left out.',
        propertyNames: { enum: deliveryStatuses },
        additionalProperties: { type: 'integer' },
      },
    },
  },
  LogoutDelivery: {
    type: 'object',
    description:
      'Telling one provider session, over one channel, that it ended; or (channels ssf_push, ssf_poll) one Shared Signals receiver one security event, whose type is `event`.',
    properties: {
      id: { type: 'string' },
      operationId: { type: 'string' },
      provider: {
        type: 'object',
        properties: {
          id: { type: 'string' },
          slug: { type: 'string' },
          name: { type: 'string' },
          deletedAt: {
            ...nullableInstant,
            description:
              'When the application was deleted (null: it was not). A deleted application keeps its deliveries and its name; its slug then reads "<slug>~deleted~<id>".',
          },
        },
      },
      providerSessionId: { type: ['string', 'null'], description: 'Null for a security event.' },
      channel: {
        enum: [
          'backchannel_oidc',
          'frontchannel_oidc',
          'backchannel_saml',
          'frontchannel_saml_iframe',
          'frontchannel_saml_native',
          'ssf_push',
          'ssf_poll',
        ],
      },
      event: {
        type: ['string', 'null'],
        description: 'A security event delivery: its event type URI (CAEP, RISC or SSF); else null.',
      },
      status: { enum: deliveryStatuses },
      attempts: { type: 'integer', description: 'Attempts since it was written or last retried.' },
      lastHttpStatus: { type: ['integer', 'null'] },
      lastError: { type: ['string', 'null'] },
      messageId: {
        type: ['string', 'null'],
        description: "The latest attempt's logout token jti, SAML LogoutRequest ID, or SET jti.",
      },
      nextAttemptAt: nullableInstant,
      createdAt: instant,
      updatedAt: instant,
      completedAt: nullableInstant,
      attemptLog: {
        type: 'array',
        description: 'The latest attempts, oldest first (a retry keeps them).',
        items: {
          type: 'object',
          properties: {
            at: instant,
            ms: { type: 'integer' },
            httpStatus: { type: ['integer', 'null'] },
            result: { enum: deliveryStatuses },
            error: { type: ['string', 'null'] },
            messageId: { type: ['string', 'null'] },
          },
        },
      },
    },
  },
  LogoutOperation: {
    type: 'object',
    description: 'One logout, with each delivery (oldest first).',
    properties: {
      ...logoutOperationFields,
      deliveries: { type: 'array', items: { $ref: '#/components/schemas/LogoutDelivery' } },
      deliveriesWritten: {
        type: 'boolean',
        description:
          'false while some deliveries of a bulk logout (PostgreSQL, more than 250 back-channel deliveries) are still being written after its commit, usually for less than a second: `deliveries` is not whole yet.',
      },
    },
  },
  Retried: {
    type: 'object',
    properties: {
      retried: {
        type: 'array',
        items: { type: 'string' },
        description: 'The deliveries sent again (failed or dead back-channel ones); empty when there were none.',
      },
    },
  },
  Dashboard: {
    type: 'object',
    properties: {
      at: instant,
      sessions: {
        type: 'object',
        properties: {
          live: { type: 'integer', description: 'IdP sessions neither ended nor expired.' },
          loginsLast24h: {
            type: 'integer',
            description: 'Logins in the last 24 hours (audit events session.started and session.reauthenticated).',
          },
        },
      },
      operationsLast24h: {
        type: 'object',
        description: 'Logout operations started in the last 24 hours, by outcome (open: not complete yet).',
        properties: {
          complete: { type: 'integer' },
          partial: { type: 'integer' },
          failed: { type: 'integer' },
          open: { type: 'integer' },
        },
      },
      deliveriesFailing: { type: 'integer', description: 'Deliveries that failed in the last 24 hours.' },
      deliveriesDead: {
        type: 'integer',
        description: 'Back-channel deliveries that ran out of attempts in the last 24 hours.',
      },
      outbox: {
        type: 'object',
        description: 'Back-channel deliveries not sent yet (pending, queued or sending).',
        properties: { pending: { type: 'integer' }, oldestPendingAt: nullableInstant },
      },
      queue: {
        type: 'object',
        properties: {
          reachable: { type: 'boolean', description: "Whether the queue's Redis answered within 500 ms." },
        },
      },
    },
  },
  Me: {
    type: 'object',
    description: 'The calling administrator (GET /me).',
    required: ['user'],
    properties: {
      user: { $ref: '#/components/schemas/User' },
      csrfToken: {
        type: 'string',
        description:
          'Only for a browser session (the signoff_browser cookie): what its changes send in the X-CSRF-Token header. Absent for an API token, which needs none.',
      },
    },
  },
  Providers: {
    type: 'object',
    description: 'Every application (not paginated: applications are configuration, not traffic).',
    required: ['items'],
    properties: { items: { type: 'array', items: { $ref: '#/components/schemas/Provider' } } },
  },
  ProviderCreated: {
    description: 'A new provider: its view, with the client secret of a confidential OIDC client, shown this once.',
    allOf: [{ $ref: '#/components/schemas/Provider' }],
    type: 'object',
    properties: {
      clientSecret: {
        type: 'string',
        description: 'Confidential OIDC clients only, in this answer only: it is stored as a hash.',
      },
    },
  },
  MetadataRefresh: {
    type: 'object',
    description:
      "What a refresh of a SAML SP's metadata changed (audited as saml_sp.metadata_refreshed), and the SP now.",
    required: ['changes', 'provider'],
    properties: {
      changes: {
        type: 'object',
        description: 'Only what changed: {} when nothing did.',
        properties: {
          certificates: { ...certificateChange, description: 'The certificates the SP signs with.' },
          encryptionCertificates: {
            ...certificateChange,
            description: 'The certificates assertions are encrypted to.',
          },
          acsEndpoints: beforeAfter('The AssertionConsumerService endpoints.'),
          slsEndpoints: beforeAfter('The SingleLogoutService endpoints.'),
          singleLogout: beforeAfter(
            'The SingleLogoutService Signoff sends LogoutRequests to: {url, responseUrl, binding}.',
          ),
          requireSignedRequests: beforeAfter(
            "Whether the SP's requests must be signed (its metadata's AuthnRequestsSigned).",
            { type: 'boolean' },
          ),
        },
      },
      provider: { $ref: '#/components/schemas/Provider' },
    },
  },
  Error: {
    type: 'object',
    required: ['error', 'message'],
    properties: { error: { type: 'string' }, message: { type: 'string' }, details: {}, requestId: { type: 'string' } },
  },
} as const;
