import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  type Actor,
  AuditService,
  Clock,
  CONFIG,
  type Config,
  RedisService,
  SamlServiceProvider,
  SignoffError,
  SYSTEM,
} from '@signoff/core';
import { IsNull, Not, DataSource } from 'typeorm';
import { SpMetadataSource } from '../metadata/sp-metadata-source';
import { metadataChanges, type SpMetadataChanges } from './metadata-changes';
import { type RegisteredSp, SamlSpsService } from './saml-sps.service';

/** The shortest interval a metadata's cacheDuration can ask for: shorter would only load the SP's server. */
export const MIN_REFRESH_MS = 10 * 60_000;

/** How soon a failed refresh is tried again (at most SAML_METADATA_REFRESH). */
export const FAILED_REFRESH_RETRY_MS = 30 * 60_000;

/**
 * How long after a refresh the next one is due: SAML_METADATA_REFRESH (`refreshMs`), or the
 * metadata's cacheDuration when shorter (metadata §2.3.2: the longest a consumer should cache it),
 * but not under MIN_REFRESH_MS; after a failure, FAILED_REFRESH_RETRY_MS. Never more than refreshMs.
 */
export function nextRefreshDelay(refreshMs: number, cacheDurationMs: number | null, failed: boolean): number {
  if (failed) return Math.min(refreshMs, FAILED_REFRESH_RETRY_MS);
  if (cacheDurationMs === null) return refreshMs;
  return Math.min(refreshMs, Math.max(cacheDurationMs, MIN_REFRESH_MS));
}

/** How often the worker looks for SPs whose refresh is due: refreshMs, but at least every five minutes. */
export const refreshCheckIntervalMs = (refreshMs: number): number => Math.min(refreshMs, 5 * 60_000);

/** The outcome of a refresh that succeeded: the SP as it is now and what changed (empty: nothing). */
export interface MetadataRefreshed {
  sp: RegisteredSp;
  changes: SpMetadataChanges;
}

/**
 * Refreshes SP metadata from the SP's metadataUrl: fetched and checked by SpMetadataSource (outbound
 * policy, pinned signature, validUntil), then applied through SamlSpsService.update, the path the
 * admin API takes, so a certificate rollover, new encryption certificates and changed ACS or SLO
 * endpoints pass the same checks as an administrator's change, and each applied change is audited
 * (`saml_sp.metadata_refreshed`). A refresh that fails (no answer, bad signature, another entityID,
 * unreadable, settings logout could not use) changes nothing: the old metadata stays, and the failure
 * is audited (`saml_sp.metadata_refresh_failed`) and logged.
 */
@Injectable()
export class SpMetadataRefresh {
  private readonly logger = new Logger(SpMetadataRefresh.name);

  constructor(
    private readonly db: DataSource,
    private readonly sps: SamlSpsService,
    private readonly source: SpMetadataSource,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly redis: RedisService,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  /**
   * Refreshes one SP now. Refuses an SP without a metadataUrl (`invalid_request`); a failed refresh
   * is audited and rethrown as the SignoffError that says why.
   */
  async refresh(providerId: string, actor: Actor): Promise<MetadataRefreshed> {
    const before = await this.sps.byProviderId(providerId);
    // Deleted since refreshDue listed it: a tombstone's metadata is history, and its entityID is renamed.
    if (before.provider.deletedAt) throw new SignoffError('not_found', 'This SP has been deleted.');
    const url = before.metadataUrl;
    if (!url)
      throw new SignoffError(
        'invalid_request',
        "This SP's metadata was not fetched from a URL, so there is nothing to refresh: give saml.metadataUrl to fetch it from one.",
      );
    try {
      const fetched = await this.source.fetch({ url, signingCertificate: before.metadataSigningCertificate });
      const { metadata } = fetched;
      if (metadata.entityId !== before.entityId)
        throw new SignoffError(
          'invalid_sp_metadata',
          `The SP metadata at ${url} was refused: it is for ${metadata.entityId}, not this SP (${before.entityId}).`,
        );
      // Keep the SingleLogoutService binding in use while the SP still offers it: an administrator may
      // have chosen it over the default (POST rather than SOAP for back-channel logout).
      const slsBinding = metadata.singleLogout.some((endpoint) => endpoint.binding === before.slsBinding)
        ? (before.slsBinding ?? undefined)
        : undefined;
      const after = await this.sps.update(providerId, metadata, { slsBinding }, actor, 'metadata_refreshed');
      const changes = metadataChanges(before, after);
      await this.scheduleNext(providerId, fetched.cacheDurationMs, false);
      this.logger.log({ msg: 'SP metadata refreshed', providerId, url, changed: Object.keys(changes) });
      return { sp: after, changes };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      await this.audit.record({
        action: 'saml_sp.metadata_refresh_failed',
        actor,
        target: { type: 'provider', id: providerId },
        details: { metadataUrl: url, error: message },
      });
      await this.scheduleNext(providerId, null, true);
      this.logger.warn({
        msg: 'SP metadata refresh failed; the SP keeps its metadata',
        providerId,
        url,
        error: message,
      });
      throw error;
    }
  }

  /**
   * The worker's pass: refreshes every SP with a metadataUrl whose refresh is due (nextRefreshDelay
   * after the last attempt, as noted in Redis; without a note, SAML_METADATA_REFRESH after
   * metadataRefreshedAt). One SP's failure does not stop the others.
   */
  async refreshDue(): Promise<{ refreshed: number; failed: number }> {
    const now = this.clock.now().getTime();
    const sourced = await this.db.getRepository(SamlServiceProvider).find({
      // Not a deleted SP's tombstone (ProvidersAdminService.remove): its metadata is history.
      where: { metadataUrl: Not(IsNull()), provider: { deletedAt: IsNull() } },
      select: { providerId: true, metadataRefreshedAt: true },
    });
    let [refreshed, failed] = [0, 0];
    for (const sp of sourced) {
      const due =
        (await this.noted(sp.providerId)) ??
        (sp.metadataRefreshedAt?.getTime() ?? 0) + this.config.samlMetadata.refreshMs;
      if (due > now) continue;
      try {
        await this.refresh(sp.providerId, SYSTEM);
        refreshed++;
      } catch {
        failed++; // audited and logged by refresh
      }
    }
    return { refreshed, failed };
  }

  /**
   * Notes when the SP's next refresh is due (nextRefreshDelay from now), after a fetch that gave this
   * cacheDuration or one that `failed`: kept in Redis, read by refreshDue.
   */
  async scheduleNext(providerId: string, cacheDurationMs: number | null, failed: boolean): Promise<void> {
    const delayMs = nextRefreshDelay(this.config.samlMetadata.refreshMs, cacheDurationMs, failed);
    const at = this.clock.now().getTime() + delayMs;
    try {
      await this.redis.client.set(this.key(providerId), String(at), 'PX', delayMs + this.config.samlMetadata.refreshMs);
    } catch {
      // Redis down: the next pass falls back to metadataRefreshedAt + SAML_METADATA_REFRESH.
    }
  }

  private async noted(providerId: string): Promise<number | null> {
    try {
      const value = await this.redis.client.get(this.key(providerId));
      return value === null ? null : Number(value);
    } catch {
      return null;
    }
  }

  private key(providerId: string): string {
    return this.redis.key('saml-metadata', 'next-refresh', providerId);
  }
}
