// The outbound policy: which addresses Signoff's own server-side requests (back-channel logout
// deliveries, SAML SOAP and server-side POST, any later metadata fetch) may connect to. A registered
// URL is chosen by whoever registers the application, so without it the worker would POST to the
// IdP's own loopback services, the cloud metadata endpoint or the internal network for them (SSRF),
// and the delivery's lastError would report what answered there.
import { type LookupAddress, lookup as dnsLookup, type LookupOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import type { Config } from '../config/config';

/** Why an address is refused; `null` from {@link classifyAddress} means an ordinary public address. */
export type AddressClass =
  'loopback' | 'private' | 'link-local' | 'unique-local' | 'multicast' | 'unspecified' | 'reserved';

/** What the policy lets through beyond public addresses (see `OUTBOUND_ALLOW`). */
export interface OutboundAllow {
  /** Canonical `address/prefix` entries, IPv4 or IPv6. */
  cidrs: string[];
  /** Lower-case host names, matched exactly against a URL's host name (whatever they resolve to). */
  hosts: string[];
}

/** The text a refused delivery records: the same for every refusal, so it tells a prober nothing. */
export const OUTBOUND_BLOCKED = 'blocked by outbound policy';

/** A server-side request (or a URL registered for one) that the outbound policy refuses. Stable code: `outbound_policy`. */
export class OutboundPolicyError extends Error {
  readonly code = 'outbound_policy';
  constructor(
    readonly target: string,
    readonly addressClass: AddressClass,
  ) {
    super(
      `${target} is a ${addressClass} address, which the outbound policy does not allow (an administrator can open it with OUTBOUND_ALLOW)`,
    );
  }
}

/** True for an OutboundPolicyError, also when an HTTP client has wrapped it as the `cause` of its own error. */
export function isOutboundPolicyError(error: unknown): error is OutboundPolicyError {
  return error instanceof OutboundPolicyError || (error instanceof Error && error.cause instanceof OutboundPolicyError);
}

// Special-purpose ranges of the IANA IPv4/IPv6 Special-Purpose Address Registries (RFC 6890) that
// no application's public endpoint can be in. Most specific first only where ranges nest.
const V4_RANGES: Array<[string, number, AddressClass]> = [
  ['0.0.0.0', 8, 'unspecified'], // RFC 1122 3.2.1.3 "this network"; 0.0.0.0 reaches the local host on Linux
  ['10.0.0.0', 8, 'private'], // RFC 1918
  ['100.64.0.0', 10, 'private'], // RFC 6598 shared address space (carrier-grade NAT)
  ['127.0.0.0', 8, 'loopback'], // RFC 1122
  ['169.254.0.0', 16, 'link-local'], // RFC 3927; the cloud metadata endpoint lives here
  ['172.16.0.0', 12, 'private'], // RFC 1918
  ['192.0.0.0', 24, 'reserved'], // RFC 6890 protocol assignments
  ['192.0.2.0', 24, 'reserved'], // RFC 5737 documentation
  ['192.168.0.0', 16, 'private'], // RFC 1918
  ['198.18.0.0', 15, 'reserved'], // RFC 2544 benchmarking
  ['198.51.100.0', 24, 'reserved'], // RFC 5737
  ['203.0.113.0', 24, 'reserved'], // RFC 5737
  ['224.0.0.0', 4, 'multicast'], // RFC 5771
  ['240.0.0.0', 4, 'reserved'], // RFC 1112, with 255.255.255.255 broadcast
];
const V6_RANGES: Array<[string, number, AddressClass]> = [
  ['::', 128, 'unspecified'], // RFC 4291 2.5.2
  ['::1', 128, 'loopback'], // RFC 4291 2.5.3
  ['64:ff9b:1::', 48, 'private'], // RFC 8215 local-use IPv4/IPv6 translation
  ['2001:db8::', 32, 'reserved'], // RFC 3849 documentation
  ['fc00::', 7, 'unique-local'], // RFC 4193
  ['fe80::', 10, 'link-local'], // RFC 4291 2.5.6
  ['fec0::', 10, 'private'], // RFC 3879 deprecated site-local
  ['ff00::', 8, 'multicast'], // RFC 4291 2.7
];
const V6_GLOBAL_UNICAST = blockListOf([['2000::', 3]], 'ipv6');

const V4_CLASSES = V4_RANGES.map(([net, prefix, cls]) => ({ cls, list: blockListOf([[net, prefix]], 'ipv4') }));
const V6_CLASSES = V6_RANGES.map(([net, prefix, cls]) => ({ cls, list: blockListOf([[net, prefix]], 'ipv6') }));

function blockListOf(ranges: Array<[string, number]>, family: 'ipv4' | 'ipv6'): BlockList {
  const list = new BlockList();
  for (const [net, prefix] of ranges) list.addSubnet(net, prefix, family);
  return list;
}

/**
 * The IPv4 address an IPv6 address stands for, when it embeds one that a connection really reaches:
 * IPv4-mapped (`::ffff:a.b.c.d`, RFC 4291 2.5.5.2), NAT64 well-known prefix (`64:ff9b::/96`, RFC 6052)
 * and 6to4 (`2002:wwxx:yyzz::/48`, RFC 3056). Otherwise null.
 */
export function embeddedIpv4(address: string): string | null {
  const words = ipv6Words(address);
  if (!words) return null;
  const zero = (from: number, to: number) => words.slice(from, to).every((word) => word === 0);
  const v4 = (high: number, low: number) => [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
  if (zero(0, 5) && words[5] === 0xffff) return v4(words[6], words[7]);
  if (words[0] === 0x64 && words[1] === 0xff9b && zero(2, 6)) return v4(words[6], words[7]);
  if (words[0] === 0x2002) return v4(words[1], words[2]);
  return null;
}

/** The eight 16-bit words of an IPv6 address (with `::` and a trailing dotted quad), or null if it is not one. */
export function ipv6Words(address: string): number[] | null {
  if (isIP(address) !== 6) return null;
  let text = address.replace(/%.*$/, '');
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (quad) {
    const [a, b, c, d] = quad.slice(1).map(Number);
    text = `${text.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const parse = (part: string | undefined) => (part ? part.split(':').map((word) => parseInt(word, 16)) : []);
  const [left, right] = [parse(head), parse(tail)];
  const words = tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill(0), ...right];
  return words.length === 8 ? words : null;
}

/** The special-purpose class of an IP address (IPv4 or IPv6, embedded IPv4 judged as itself), or null for a public one. */
export function classifyAddress(address: string): AddressClass | null {
  const family = isIP(address);
  if (family === 4) return V4_CLASSES.find(({ list }) => list.check(address, 'ipv4'))?.cls ?? null;
  if (family !== 6) return 'reserved';
  const v4 = embeddedIpv4(address);
  if (v4) return classifyAddress(v4);
  const special = V6_CLASSES.find(({ list }) => list.check(address, 'ipv6'))?.cls;
  if (special) return special;
  // Outside 2000::/3 everything is unassigned or special (RFC 4291 2.4): no application lives there.
  return V6_GLOBAL_UNICAST.check(address, 'ipv6') ? null : 'reserved';
}

/**
 * Which addresses Signoff's server-side requests may reach: public ones, plus what `OUTBOUND_ALLOW`
 * opens (CIDRs; host names whatever they resolve to), plus loopback when `PUBLIC_URL` is itself a
 * loopback URL (the embedded development default, where the applications run on the same machine).
 * It is applied to the address a connection is about to be made to, after DNS ({@link lookup}), so
 * neither a DNS name nor DNS rebinding gets around it; {@link checkUrl} refuses literal addresses early,
 * at registration.
 */
export class OutboundPolicy {
  private readonly allowed = new BlockList();
  private readonly hosts: ReadonlySet<string>;

  constructor(readonly options: { allowLoopback: boolean; allow: OutboundAllow }) {
    for (const cidr of options.allow.cidrs) {
      const [net, prefix] = cidr.split('/');
      this.allowed.addSubnet(net, Number(prefix), isIP(net) === 4 ? 'ipv4' : 'ipv6');
    }
    this.hosts = new Set(options.allow.hosts);
  }

  static fromConfig(config: Pick<Config, 'publicUrl' | 'outbound'>): OutboundPolicy {
    return new OutboundPolicy({
      allowLoopback: isLoopbackHost(new URL(config.publicUrl).hostname),
      allow: config.outbound.allow,
    });
  }

  /** Why a connection to this IP address is refused, or null when it is allowed. */
  refusal(address: string): AddressClass | null {
    const bare = address.replace(/%.*$/, ''); // an IPv6 zone (fe80::1%eth0) names an interface, not another address
    const unwrapped = embeddedIpv4(bare) ?? bare;
    const cls = classifyAddress(unwrapped);
    if (cls === null) return null;
    if (cls === 'loopback' && this.options.allowLoopback) return null;
    if (this.allowed.check(unwrapped, isIP(unwrapped) === 4 ? 'ipv4' : 'ipv6')) return null;
    return cls;
  }

  /** Throws OutboundPolicyError unless a connection to this IP address is allowed. */
  check(address: string): void {
    const cls = this.refusal(address);
    if (cls) throw new OutboundPolicyError(address, cls);
  }

  /** True when `OUTBOUND_ALLOW` names this host: it may be reached at whatever address it resolves to. */
  allowsHost(hostname: string): boolean {
    return this.hosts.has(hostname.toLowerCase());
  }

  /**
   * For registration: throws OutboundPolicyError when the URL's host is an IP literal the policy
   * refuses. WHATWG URL parsing has already turned `2130706433`, `0x7f.1`, `127.1` and `0177.0.0.1`
   * into `127.0.0.1`. A DNS name passes here; what it resolves to is checked at connect time.
   */
  checkUrl(url: string | URL): void {
    const hostname = (typeof url === 'string' ? new URL(url) : url).hostname.replace(/^\[(.*)\]$/, '$1');
    if (isIP(hostname) && !this.allowsHost(hostname)) this.check(hostname);
  }

  /**
   * A `dns.lookup` for `net.connect`/`tls.connect` that resolves every address of the host and
   * hands on only those the policy allows (all of them for a host named in `OUTBOUND_ALLOW`), so the
   * socket can only connect to an allowed address; with none left it fails with OutboundPolicyError.
   * Node calls it with `all: true` when it tries several addresses (autoSelectFamily), else without.
   */
  readonly lookup = (
    hostname: string,
    options: LookupOptions,
    callback: (error: Error | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, []);
      const usable = this.allowsHost(hostname)
        ? addresses
        : addresses.filter(({ address }) => this.refusal(address) === null);
      if (!usable.length)
        return callback(new OutboundPolicyError(hostname, this.refusal(addresses[0].address) ?? 'reserved'), []);
      if (options.all) return callback(null, usable);
      callback(null, usable[0].address, usable[0].family);
    });
  };
}

/** `localhost` (RFC 6761 6.3), 127.0.0.0/8 or ::1. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return (
    host === 'localhost' || host.endsWith('.localhost') || (isIP(host) !== 0 && classifyAddress(host) === 'loopback')
  );
}

/**
 * Parses `OUTBOUND_ALLOW`: comma-separated CIDRs (`10.1.2.0/24`, `fd00::/8`; a bare address means
 * just itself) and host names (`idp-sidecar.internal`). Returns the entries and a problem per bad one.
 */
export function parseOutboundAllow(raw: string | undefined): { allow: OutboundAllow; problems: string[] } {
  const allow: OutboundAllow = { cidrs: [], hosts: [] };
  const problems: string[] = [];
  for (const entry of (raw ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)) {
    const cidr = parseCidr(entry);
    if (cidr) allow.cidrs.push(cidr);
    else if (isHostName(entry)) allow.hosts.push(entry.toLowerCase());
    else problems.push(`"${entry}" is neither a CIDR (address/prefix) nor a host name`);
  }
  return { allow, problems };
}

function parseCidr(entry: string): string | null {
  const [address, prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (!family || rest.length) return null;
  const max = family === 4 ? 32 : 128;
  if (prefix === undefined) return `${address}/${max}`;
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max) return null;
  return `${address}/${Number(prefix)}`;
}

// A DNS name as WHATWG URL would keep it: a last label that is a number (or 0x…) would be read as IPv4.
function isHostName(entry: string): boolean {
  const label = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;
  const labels = entry.split('.');
  return (
    entry.length <= 253 &&
    labels.every((part) => label.test(part)) &&
    !/^(\d+|0x[0-9a-f]*)$/i.test(labels[labels.length - 1])
  );
}
