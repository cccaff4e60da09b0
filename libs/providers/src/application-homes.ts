import { Injectable } from '@nestjs/common';
import { OidcClient, SamlServiceProvider } from '@signoff/core';
import { DataSource, In } from 'typeorm';

/**
 * Where an application lives: the page a user's home page links to for an application they are
 * signed in to. Neither protocol registers "the application's address" as such, so it is read from
 * what each does register, and only ever as an http(s) URL (a link, never a script or an app scheme):
 *
 * - OIDC: the client's `client_uri` (RFC 7591 §2, "a web page providing information about the
 *   client") when it registered one; else the origin of its first http(s) redirect_uri, where the
 *   application itself answers. A native app's loopback redirect (RFC 8252 §7.3, a public client's
 *   temporary listener) and private-use schemes are no page to open: no link then.
 * - SAML: the origin of the SP's first AssertionConsumerService URL (its metadata lists the ACS
 *   endpoints; the first one in the order the metadata gave them).
 */
export function oidcApplicationHome(
  client: Pick<OidcClient, 'clientUri' | 'redirectUris' | 'tokenEndpointAuthMethod'>,
): string | null {
  if (client.clientUri) return webUrl(client.clientUri)?.href ?? null;
  const first = client.redirectUris.map(webUrl).find((url) => url !== null);
  if (!first) return null;
  if (client.tokenEndpointAuthMethod === 'none' && isLoopback(first.hostname)) return null;
  return first.origin;
}

/** See {@link oidcApplicationHome}: the origin of the SP's first ACS URL. */
export function samlApplicationHome(sp: Pick<SamlServiceProvider, 'acsEndpoints'>): string | null {
  const first = sp.acsEndpoints.map((endpoint) => webUrl(endpoint.url)).find((url) => url !== null);
  return first?.origin ?? null;
}

function webUrl(raw: string): URL | null {
  try {
    const url = new URL(raw);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url : null;
  } catch {
    return null;
  }
}

function isLoopback(hostname: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname) || hostname === '[::1]' || hostname === 'localhost';
}

/** Reads where applications live (see {@link oidcApplicationHome}), for the pages that link to them. */
@Injectable()
export class ApplicationHomes {
  constructor(private readonly db: DataSource) {}

  /** Provider id → the application's URL, for those of `providerIds` that have one (two queries, whatever the count). */
  async of(providerIds: readonly string[]): Promise<Map<string, string>> {
    const homes = new Map<string, string>();
    const ids = [...new Set(providerIds)];
    if (!ids.length) return homes;
    const clients = await this.db.getRepository(OidcClient).find({
      where: { providerId: In(ids) },
      select: { providerId: true, clientUri: true, redirectUris: true, tokenEndpointAuthMethod: true },
    });
    const sps = await this.db.getRepository(SamlServiceProvider).find({
      where: { providerId: In(ids) },
      select: { providerId: true, acsEndpoints: true },
    });
    for (const client of clients) {
      const home = oidcApplicationHome(client);
      if (home) homes.set(client.providerId, home);
    }
    for (const sp of sps) {
      const home = samlApplicationHome(sp);
      if (home) homes.set(sp.providerId, home);
    }
    return homes;
  }
}
