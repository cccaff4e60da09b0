import { Inject, Injectable } from '@nestjs/common';
import {
  AuditService,
  Clock,
  CONFIG,
  type Config,
  type IdpSession,
  KeysService,
  newId,
  randomToken,
  SamlSession,
  SignoffError,
  type User,
} from '@signoff/core';
import { DataSource, IsNull } from 'typeorm';
import { certificateBody } from '../metadata/idp-metadata';
import type { RegisteredSp } from '../providers/saml-sps.service';
import { type EncryptionRecipient, encryptionRecipient } from './assertion-encryption';
import { SamlAttributes } from './attributes';
import { PersistentNameIds } from './persistent-name-ids';
import { buildEncryptedResponse, buildResponse, buildStatusResponse } from './response';

/** The NameID an SP sees for a user, by the SP's NameID source. Persistent IDs are opaque and differ per SP (PersistentNameIds). */
export async function nameIdFor(user: User, sp: RegisteredSp, persistent: PersistentNameIds): Promise<string> {
  switch (sp.nameIdSource) {
    case 'email':
      return user.email ?? user.username;
    case 'username':
      return user.username;
    case 'transient':
      return `_${randomToken(16)}`;
    default:
      return persistent.of(sp, user);
  }
}

/**
 * Issues an assertion for a user's IdP session and records the SamlSession: SessionIndex, and the
 * NameID exactly as issued (format and qualifiers), for the LogoutRequests to come. One SamlSession per
 * (IdP session, SP), like OIDC's sid: a second sign-in to the same SP keeps its SessionIndex and NameID,
 * so one LogoutRequest names everything the SP holds of that session.
 */
@Injectable()
export class SamlSsoService {
  constructor(
    private readonly db: DataSource,
    private readonly keys: KeysService,
    private readonly clock: Clock,
    private readonly persistentNameIds: PersistentNameIds,
    private readonly attributes: SamlAttributes,
    private readonly audit: AuditService,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  async respond(
    sp: RegisteredSp,
    user: User,
    idpSession: IdpSession,
    request: { id: string | null; acsUrl: string },
  ): Promise<{ xml: string; session: SamlSession }> {
    // Decided before the session is recorded: an SP refused an assertion holds no session to log out.
    const recipient = sp.encryptAssertions ? await this.encryptionRecipientOf(sp, user) : null;
    const now = this.clock.now();
    const key = await this.keys.active('saml', 'RS256');
    const sessions = this.db.getRepository(SamlSession);
    const session =
      (await sessions.findOneBy({ idpSessionId: idpSession.id, providerId: sp.providerId, endedAt: IsNull() })) ??
      (await sessions.save(
        sessions.create({
          id: newId(),
          idpSessionId: idpSession.id,
          providerId: sp.providerId,
          userId: user.id,
          createdAt: now,
          endedAt: null,
          state: 'active',
          sessionIndex: `_${randomToken(20)}`,
          nameId: await nameIdFor(user, sp, this.persistentNameIds),
          nameIdFormat: sp.nameIdFormat,
          nameQualifier: this.config.saml.entityId,
          spNameQualifier: sp.entityId,
          sessionNotOnOrAfter: idpSession.expiresAt,
        }),
      ));
    const input = {
      idpEntityId: this.config.saml.entityId,
      spEntityId: sp.entityId,
      acsUrl: request.acsUrl,
      inResponseTo: request.id,
      nameId: session.nameId,
      nameIdFormat: session.nameIdFormat,
      sessionIndex: session.sessionIndex,
      sessionNotOnOrAfter: idpSession.expiresAt,
      authnInstant: idpSession.authTime,
      now,
      key: key.privateKey,
      certificateBody: certificateBody(key.certificatePem!),
      attributes: await this.attributes.of(sp, user),
    };
    if (!recipient) return { xml: (await buildResponse(input)).xml, session };
    try {
      return { xml: (await buildEncryptedResponse(input, recipient)).xml, session };
    } catch (error) {
      throw await this.refuseClearAssertion(sp, user, `the encryption failed (${(error as Error).message})`);
    }
  }

  /** The certificate an SP that wants encrypted assertions gets them encrypted to; refused (audited) when it has none usable. */
  private async encryptionRecipientOf(sp: RegisteredSp, user: User): Promise<EncryptionRecipient> {
    const { recipient, problem } = encryptionRecipient(sp.encryptionCertificates);
    if (!recipient) throw await this.refuseClearAssertion(sp, user, problem);
    return recipient;
  }

  /**
   * An SP set to receive encrypted assertions is never sent one in the clear, whatever happened to its
   * certificates (registration refuses such settings; rows changed since may still hold them): the
   * sign-in ends on an error page, audited as `saml.assertion_refused`.
   */
  private async refuseClearAssertion(sp: RegisteredSp, user: User, reason: string): Promise<SignoffError> {
    await this.audit.record({
      action: 'saml.assertion_refused',
      actor: { type: 'user', id: user.id },
      target: { type: 'provider', id: sp.providerId },
      details: { entityId: sp.entityId, reason },
    });
    return new SignoffError(
      'forbidden',
      `${sp.provider.name} is set to receive encrypted assertions, and Signoff cannot encrypt one for it: ${reason}. Nothing was sent to it. An administrator must register its encryption certificate (its metadata).`,
    );
  }

  /** The answer to an IsPassive request when nobody is signed in: Responder / NoPassive (core §3.4.1). */
  async noPassive(request: { id: string; acsUrl: string }): Promise<string> {
    const key = await this.keys.active('saml', 'RS256');
    return buildStatusResponse({
      idpEntityId: this.config.saml.entityId,
      acsUrl: request.acsUrl,
      inResponseTo: request.id,
      now: this.clock.now(),
      status: 'urn:oasis:names:tc:SAML:2.0:status:Responder',
      detail: 'urn:oasis:names:tc:SAML:2.0:status:NoPassive',
      key: key.privateKey,
      certificateBody: certificateBody(key.certificatePem!),
    });
  }
}
