import { Inject, Injectable, Logger, type OnApplicationBootstrap, Optional } from '@nestjs/common';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { createPrivateKey, generateKeyPair, type KeyObject, X509Certificate } from 'node:crypto';
import { promisify } from 'node:util';
import { DataSource, type EntityManager, IsNull, Not } from 'typeorm';
import { type Actor, AuditService, SYSTEM } from '../audit/audit.service';
import { Clock } from '../clock/clock';
import type { Config } from '../config/config';
import { CONFIG } from '../config/config.tokens';
import { newId } from '../crypto/random';
import { serialize } from '../database/data-source';
import { type KeyAlg, type KeyState, type KeyUse, SigningKey, SsfReceiver } from '../entities';
import { selfSignedCertificate } from './certificate';
import { isPlaintextPem, KeyEncryption } from './key-encryption';

const generate = promisify(generateKeyPair);
// SAML peers pin the certificate, not its dates; rotation replaces keys long before this.
const CERTIFICATE_VALID_DAYS = 3650;
const ACTIVE_KEY_CACHE_MS = 30_000;

interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

function generatePair(alg: KeyAlg): Promise<KeyPair> {
  return alg === 'ES256' ? generate('ec', { namedCurve: 'P-256' }) : generate('rsa', { modulusLength: 2048 });
}

/** The key sets the IdP signs with: OIDC tokens in ES256 and RS256, SAML messages in RS256 with a certificate. */
export const KEY_SETS: ReadonlyArray<{ use: KeyUse; alg: KeyAlg }> = [
  { use: 'oidc', alg: 'ES256' },
  { use: 'oidc', alg: 'RS256' },
  { use: 'saml', alg: 'RS256' },
];

/** A signing key as administrators see it (GET /api/v1/keys, the console's Keys page): never its key material. */
export interface SigningKeyView {
  /** The RFC 7638 thumbprint: the `kid` of JWS headers and of the JWKS. */
  kid: string;
  use: KeyUse;
  alg: KeyAlg;
  state: KeyState;
  createdAt: Date;
  activatedAt?: Date;
  retiredAt?: Date;
  /**
   * Until when verifiers find it in the JWKS or the IdP metadata: null while it is `next` or `active`
   * (published for as long as it is), retiredAt + KEY_RETIRED_PUBLISHED_FOR once retired.
   */
  publishedUntil: Date | null;
  /** Whether it is published now (a retired key past publishedUntil is not). */
  published: boolean;
  /** The notAfter of a SAML key's self-signed certificate. */
  certificateNotAfter?: Date;
}

export interface ActiveKey {
  kid: string;
  alg: KeyAlg;
  /** Parsed once and cached: signing with a PEM string re-parses it on every call (STACK.md). */
  privateKey: KeyObject;
  certificatePem: string | null;
}

/**
 * Signing keys and their rotation. Each key set has one `active` key (signs), one `next` key
 * (already published, so relying parties and SPs learn it before it signs) and `retired` keys
 * (still published for a while, so signatures made just before a rotation keep verifying).
 */
@Injectable()
export class KeysService implements OnApplicationBootstrap {
  private readonly logger = new Logger(KeysService.name);
  private readonly cache = new Map<string, { key: ActiveKey; until: number }>();
  private readonly reading = new Map<string, Promise<ActiveKey>>();
  /** Bumped by a rotation: a read begun before it neither caches its (old) key nor is shared after it. */
  private generation = 0;
  private readonly kek: KeyEncryption;

  private readonly audit: AuditService;

  constructor(
    private readonly db: DataSource,
    private readonly clock: Clock,
    @Inject(CONFIG) private readonly config: Config,
    @Optional() audit?: AuditService,
  ) {
    this.kek = KeyEncryption.fromConfig(config);
    this.audit = audit ?? new AuditService(db, clock);
  }

  /**
   * Seals keys stored in plaintext by an older version, creates missing keys, and opens every key
   * once: a process with the wrong KEY_ENCRYPTION_KEY stops here, saying which key it needs, instead
   * of failing at its first signature.
   */
  async onApplicationBootstrap(): Promise<void> {
    await this.sealPlaintextKeys();
    await this.ensureKeys();
    for (const row of await this.db.getRepository(SigningKey).find()) this.kek.open(row.privateKeyPem, row.id);
  }

  /**
   * Seals a secret other than a key (an SSF push stream's Authorization header) under the same KEK, as
   * keys are (AES-256-GCM, `rowId` the additional data: sealed for one row, it opens in no other).
   */
  sealSecret(plaintext: string, rowId: string): string {
    return this.kek.seal(plaintext, rowId);
  }

  /** Opens what sealSecret sealed for `rowId`; throws KeyEncryptionError otherwise. */
  openSecret(sealed: string, rowId: string): string {
    return this.kek.open(sealed, rowId);
  }

  /** Seals, under the current KEK, every private key still stored as plaintext PEM. Idempotent; returns how many. */
  async sealPlaintextKeys(): Promise<number> {
    return this.reseal((row) => isPlaintextPem(row.privateKeyPem));
  }

  /**
   * The second step of rotating the key-encryption key: reseals under KEY_ENCRYPTION_KEY every key
   * sealed under another KEK (KEY_ENCRYPTION_KEY_PREVIOUS) or not at all. Idempotent.
   */
  async resealKeys(): Promise<{ resealed: number; total: number; kekId: string; secrets: number }> {
    const resealed = await this.reseal((row) => !this.kek.isCurrent(row.privateKeyPem));
    return {
      resealed,
      total: await this.db.getRepository(SigningKey).count(),
      kekId: this.kek.currentId,
      secrets: await this.resealSecrets(),
    };
  }

  /** The other secrets sealed under the KEK (SSF push Authorization headers), resealed as keys are. */
  private async resealSecrets(): Promise<number> {
    return this.db.transaction(async (tx) => {
      let count = 0;
      for (const row of await tx.find(SsfReceiver, { where: { authorizationHeader: Not(IsNull()) } })) {
        if (this.kek.isCurrent(row.authorizationHeader!)) continue;
        const plain = this.kek.open(row.authorizationHeader!, row.providerId);
        await tx.update(
          SsfReceiver,
          { providerId: row.providerId },
          { authorizationHeader: this.kek.seal(plain, row.providerId) },
        );
        count++;
      }
      return count;
    });
  }

  private async reseal(needs: (row: SigningKey) => boolean): Promise<number> {
    return this.db.transaction(async (tx) => {
      await serialize(tx, 'signing-keys');
      let count = 0;
      for (const row of await tx.find(SigningKey)) {
        if (!needs(row)) continue;
        await tx.update(
          SigningKey,
          { id: row.id },
          {
            privateKeyPem: this.kek.seal(
              isPlaintextPem(row.privateKeyPem) ? row.privateKeyPem : this.kek.open(row.privateKeyPem, row.id),
              row.id,
            ),
          },
        );
        count++;
      }
      if (count)
        this.logger.log({ msg: 'sealed signing keys under the key-encryption key', count, kek: this.kek.currentId });
      return count;
    });
  }

  /**
   * Creates whatever active and next keys are missing (first start). The pairs are generated before
   * the transaction, at once, on the thread pool (four RSA keys one after another cost a first start
   * most of a second, which the transaction, and every write behind it, would otherwise wait for);
   * the transaction then writes those still missing once it holds the lock (another process starting
   * beside this one may have written them meanwhile).
   */
  async ensureKeys(): Promise<void> {
    const missingIn = async (manager: EntityManager) => {
      const missing: Array<{ use: KeyUse; alg: KeyAlg; state: 'active' | 'next' }> = [];
      for (const set of KEY_SETS)
        for (const state of ['active', 'next'] as const)
          if (!(await manager.findOneBy(SigningKey, { ...set, state }))) missing.push({ ...set, state });
      return missing;
    };
    const generated = await missingIn(this.db.manager);
    if (!generated.length) return;
    const pairs = new Map(
      await Promise.all(
        generated.map(async ({ use, alg, state }) => [`${use}/${alg}/${state}`, await generatePair(alg)] as const),
      ),
    );
    await this.db.transaction(async (tx) => {
      await serialize(tx, 'signing-keys');
      for (const { use, alg, state } of await missingIn(tx)) {
        await this.create(tx, use, alg, state, pairs.get(`${use}/${alg}/${state}`) ?? (await generatePair(alg)));
        this.logger.log({ msg: 'generated signing key', use, alg, state });
      }
    });
  }

  /**
   * Every signing key, newest first within each set (OIDC ES256, OIDC RS256, SAML RS256): its kid, set,
   * state, dates and how long it stays published; never the key itself.
   */
  async list(): Promise<SigningKeyView[]> {
    const rows = await this.db.getRepository(SigningKey).find({ order: { createdAt: 'DESC' } });
    const now = this.clock.now().getTime();
    const set = (row: SigningKey) => KEY_SETS.findIndex((keySet) => keySet.use === row.use && keySet.alg === row.alg);
    return rows
      .sort((a, b) => set(a) - set(b))
      .map((row) => {
        const publishedUntil =
          row.state === 'retired' && row.retiredAt
            ? new Date(row.retiredAt.getTime() + this.config.keys.retiredPublishedMs)
            : null;
        return {
          kid: row.kid,
          use: row.use,
          alg: row.alg,
          state: row.state,
          createdAt: row.createdAt,
          ...(row.activatedAt ? { activatedAt: row.activatedAt } : {}),
          ...(row.retiredAt ? { retiredAt: row.retiredAt } : {}),
          publishedUntil,
          published: publishedUntil === null || publishedUntil.getTime() >= now,
          ...(row.certificatePem
            ? { certificateNotAfter: new Date(new X509Certificate(row.certificatePem).validTo) }
            : {}),
        };
      });
  }

  /**
   * next -> active -> retired for every key set, and a fresh next key; audited as `keys.rotated`
   * (with the new active and next kids) in the same transaction.
   */
  async rotate(
    actor: Actor = SYSTEM,
  ): Promise<Array<{ use: KeyUse; alg: KeyAlg; activeKid: string; nextKid: string }>> {
    await this.ensureKeys();
    // Generated before the transaction, so its lock is not held while they are made.
    const pairs = await Promise.all(KEY_SETS.map(({ alg }) => generatePair(alg)));
    const rotated = await this.db.transaction(async (tx) => {
      await serialize(tx, 'signing-keys');
      const now = this.clock.now();
      const result = [];
      for (const [i, set] of KEY_SETS.entries()) {
        await tx.update(SigningKey, { ...set, state: 'active' }, { state: 'retired', retiredAt: now });
        await tx.update(SigningKey, { ...set, state: 'next' }, { state: 'active', activatedAt: now });
        const next = await this.create(tx, set.use, set.alg, 'next', pairs[i]);
        const active = await tx.findOneByOrFail(SigningKey, { ...set, state: 'active' });
        result.push({ ...set, activeKid: active.kid, nextKid: next.kid });
      }
      await this.audit.record({ action: 'keys.rotated', actor, details: { sets: result } }, tx);
      return result;
    });
    // After the commit: a read before it would still find the old active key. This process signs
    // with the new keys at once; reads begun earlier neither cache nor hand out their old key.
    this.generation++;
    this.cache.clear();
    this.reading.clear();
    return rotated;
  }

  /**
   * The key that signs now. Cached for ACTIVE_KEY_CACHE_MS per process (signing is the hot path of
   * back-channel logout); after a rotation a process may sign with the previous key that long, which
   * verifiers accept because retired keys stay published.
   */
  async active(use: KeyUse, alg: KeyAlg): Promise<ActiveKey> {
    const name = `${use}/${alg}`;
    const cached = this.cache.get(name);
    if (cached && cached.until > Date.now()) return cached.key;
    // One read for everyone who asks while it runs: a fan-out's first batches all sign at once.
    let reading = this.reading.get(name);
    if (!reading) {
      const read = this.readActive(use, alg).finally(() => {
        if (this.reading.get(name) === read) this.reading.delete(name);
      });
      this.reading.set(name, (reading = read));
    }
    return reading;
  }

  private async readActive(use: KeyUse, alg: KeyAlg): Promise<ActiveKey> {
    const generation = this.generation;
    const row = await this.db.getRepository(SigningKey).findOneByOrFail({ use, alg, state: 'active' });
    const key = {
      kid: row.kid,
      alg: row.alg,
      privateKey: createPrivateKey(this.kek.open(row.privateKeyPem, row.id)),
      certificatePem: row.certificatePem,
    };
    if (generation === this.generation)
      this.cache.set(`${use}/${alg}`, { key, until: Date.now() + ACTIVE_KEY_CACHE_MS });
    return key;
  }

  /** Keys verifiers should accept: next, active, and retired within KEY_RETIRED_PUBLISHED_FOR. */
  async published(use: KeyUse): Promise<SigningKey[]> {
    const keys = await this.db.getRepository(SigningKey).find({ where: { use }, order: { createdAt: 'DESC' } });
    const cutoff = this.clock.now().getTime() - this.config.keys.retiredPublishedMs;
    return keys.filter((key) => key.state !== 'retired' || (key.retiredAt && key.retiredAt.getTime() >= cutoff));
  }

  private async create(
    tx: EntityManager,
    use: KeyUse,
    alg: KeyAlg,
    state: 'active' | 'next',
    { privateKey, publicKey }: KeyPair,
  ): Promise<SigningKey> {
    const id = newId();
    const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const jwk = publicKey.export({ format: 'jwk' }) as JWK;
    const kid = await calculateJwkThumbprint(jwk, 'sha256');
    const now = this.clock.now();
    const certificatePem =
      use === 'saml'
        ? await selfSignedCertificate(
            privateKeyPem,
            publicKey.export({ type: 'spki', format: 'pem' }) as string,
            `Signoff ${new URL(this.config.publicUrl).host}`,
            CERTIFICATE_VALID_DAYS,
          )
        : null;
    return tx.save(SigningKey, {
      id,
      kid,
      use,
      alg,
      state,
      privateKeyPem: this.kek.seal(privateKeyPem, id),
      certificatePem,
      createdAt: now,
      activatedAt: state === 'active' ? now : null,
      retiredAt: null,
      publicJwk: { ...jwk, kid, alg, use: 'sig' },
    });
  }
}
