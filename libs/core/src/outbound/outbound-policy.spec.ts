import type { LookupAddress } from 'node:dns';
import {
  classifyAddress,
  embeddedIpv4,
  isLoopbackHost,
  OutboundPolicy,
  OutboundPolicyError,
  parseOutboundAllow,
} from './outbound-policy';

const closed = (allow = '') => new OutboundPolicy({ allowLoopback: false, allow: parseOutboundAllow(allow).allow });
const refusalOfUrl = (policy: OutboundPolicy, url: string) => {
  try {
    policy.checkUrl(url);
    return null;
  } catch (error) {
    return (error as OutboundPolicyError).addressClass;
  }
};
const resolve = (policy: OutboundPolicy, hostname: string, all: boolean) =>
  new Promise<{ error: Error | null; address: string | LookupAddress[] }>((done) => {
    policy.lookup(hostname, { all }, (error, address) => done({ error, address }));
  });

describe('classifyAddress', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456::1', 'unique-local'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['ff02::1', 'multicast'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['::', 'unspecified'],
    ['255.255.255.255', 'reserved'],
    ['192.0.2.1', 'reserved'],
    ['2001:db8::1', 'reserved'],
    ['::127.0.0.1', 'reserved'],
    ['100::1', 'reserved'],
  ])('%s is %s', (address, cls) => {
    expect(classifyAddress(address)).toBe(cls);
  });

  it.each([
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['0:0:0:0:0:ffff:a9fe:a9fe', 'link-local'],
    ['64:ff9b::7f00:1', 'loopback'],
    ['64:ff9b::10.0.0.1', 'private'],
    ['2002:a9fe:a9fe::1', 'link-local'],
  ])('%s is judged as the IPv4 address it embeds (%s)', (address, cls) => {
    expect(classifyAddress(address)).toBe(cls);
  });

  it.each(['93.184.215.14', '8.8.8.8', '172.32.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808'])(
    '%s is public',
    (address) => {
      expect(classifyAddress(address)).toBeNull();
    },
  );

  it('unwraps only the embeddings a connection really reaches', () => {
    expect(embeddedIpv4('::ffff:7f00:1')).toBe('127.0.0.1');
    expect(embeddedIpv4('64:ff9b::a9fe:a9fe')).toBe('169.254.169.254');
    expect(embeddedIpv4('2002:0a00:0001::')).toBe('10.0.0.1');
    expect(embeddedIpv4('2606:4700::1111')).toBeNull();
    expect(embeddedIpv4('127.0.0.1')).toBeNull();
  });
});

describe('OutboundPolicy', () => {
  it('refuses at registration every literal form of loopback and internal addresses from the review', () => {
    const policy = closed();
    const urls: Array<[string, string]> = [
      ['http://127.0.0.1:6379/', 'loopback'],
      ['http://[::1]:8080/bc', 'loopback'],
      ['http://2130706433/', 'loopback'],
      ['http://0x7f.1/', 'loopback'],
      ['http://127.1/', 'loopback'],
      ['http://0177.0.0.1/', 'loopback'],
      ['http://[::ffff:127.0.0.1]/', 'loopback'],
      ['http://[64:ff9b::7f00:1]/', 'loopback'],
      ['http://0.0.0.0:22/', 'unspecified'],
      ['https://169.254.169.254/latest/meta-data/', 'link-local'],
      ['https://10.0.0.1/', 'private'],
      ['https://[fd00::1]/', 'unique-local'],
      ['https://[fe80::1]/', 'link-local'],
      ['https://224.0.0.1/', 'multicast'],
    ];
    expect(urls.map(([url]) => [url, refusalOfUrl(policy, url)])).toEqual(urls);
  });

  it('leaves DNS names and public addresses to the connect-time check', () => {
    const policy = closed();
    expect(refusalOfUrl(policy, 'http://localhost:9000/bc')).toBeNull();
    expect(refusalOfUrl(policy, 'https://rp.example.com/bc')).toBeNull();
    expect(refusalOfUrl(policy, 'https://93.184.215.14/bc')).toBeNull();
  });

  it('says what was refused and how an administrator opens it', () => {
    expect(() => closed().checkUrl('https://169.254.169.254/')).toThrow(
      new OutboundPolicyError('169.254.169.254', 'link-local'),
    );
    expect(new OutboundPolicyError('10.0.0.1', 'private')).toMatchObject({
      code: 'outbound_policy',
      message: expect.stringMatching(
        /10\.0\.0\.1 is a private address, which the outbound policy does not allow.*OUTBOUND_ALLOW/,
      ),
    });
  });

  it('allows loopback, and only loopback, when PUBLIC_URL is a loopback URL', () => {
    const outbound = { allow: { cidrs: [], hosts: [] } };
    for (const publicUrl of ['http://127.0.0.1:3000', 'http://localhost:3000', 'http://[::1]:3000']) {
      const policy = OutboundPolicy.fromConfig({ publicUrl, outbound });
      expect([policy.refusal('127.0.0.1'), policy.refusal('::1'), policy.refusal('::ffff:127.0.0.1')]).toEqual([
        null,
        null,
        null,
      ]);
      expect([policy.refusal('10.0.0.1'), policy.refusal('169.254.169.254'), policy.refusal('0.0.0.0')]).toEqual([
        'private',
        'link-local',
        'unspecified',
      ]);
    }
    expect(OutboundPolicy.fromConfig({ publicUrl: 'https://idp.example', outbound }).refusal('127.0.0.1')).toBe(
      'loopback',
    );
    expect(OutboundPolicy.fromConfig({ publicUrl: 'http://10.0.0.5:3000', outbound }).refusal('127.0.0.1')).toBe(
      'loopback',
    );
  });

  it('opens the CIDRs of OUTBOUND_ALLOW, also when written as an IPv4-mapped address', () => {
    const policy = closed('10.20.0.0/16, fd00:1::/32, 192.168.1.7');
    expect(['10.20.3.4', '::ffff:10.20.3.4', 'fd00:1::9', '192.168.1.7'].map((a) => policy.refusal(a))).toEqual([
      null,
      null,
      null,
      null,
    ]);
    expect(['10.21.0.1', 'fd00:2::9', '192.168.1.8', '127.0.0.1'].map((a) => policy.refusal(a))).toEqual([
      'private',
      'unique-local',
      'private',
      'loopback',
    ]);
    expect(refusalOfUrl(policy, 'https://10.20.0.1/')).toBeNull();
  });

  it('opens a host name of OUTBOUND_ALLOW exactly, whatever it resolves to', async () => {
    const policy = closed('localhost');
    expect(policy.allowsHost('localhost')).toBe(true);
    expect(policy.allowsHost('LOCALHOST')).toBe(true);
    expect(policy.allowsHost('evil.localhost')).toBe(false);
    const resolved = await resolve(policy, 'localhost', true);
    expect(resolved.error).toBeNull();
    expect((resolved.address as LookupAddress[]).map((a) => classifyAddress(a.address))).toContain('loopback');
  });

  it('resolves a DNS name and refuses it when every address it has is refused, as node:net asks (all or one)', async () => {
    const policy = closed();
    for (const all of [true, false]) {
      const { error } = await resolve(policy, 'localhost', all);
      expect(error).toBeInstanceOf(OutboundPolicyError);
      expect(error).toMatchObject({ target: 'localhost', addressClass: 'loopback' });
    }
    const open = new OutboundPolicy({ allowLoopback: true, allow: { cidrs: [], hosts: [] } });
    expect(await resolve(open, 'localhost', false)).toEqual({
      error: null,
      address: expect.stringMatching(/^(127\.0\.0\.1|::1)$/),
    });
  });
});

describe('isLoopbackHost', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.9.9.9', true],
    ['[::1]', true],
    ['localhost', true],
    ['app.localhost', true],
    ['idp.example', false],
    ['10.0.0.1', false],
  ])('%s: %s', (host, loopback) => {
    expect(isLoopbackHost(host)).toBe(loopback);
  });
});

describe('parseOutboundAllow', () => {
  it('reads comma-separated CIDRs, bare addresses and host names', () => {
    expect(parseOutboundAllow(' 10.0.0.0/8,fd00::/8 , 127.0.0.1, RP.Internal,localhost ')).toEqual({
      allow: { cidrs: ['10.0.0.0/8', 'fd00::/8', '127.0.0.1/32'], hosts: ['rp.internal', 'localhost'] },
      problems: [],
    });
    expect(parseOutboundAllow(undefined)).toEqual({ allow: { cidrs: [], hosts: [] }, problems: [] });
  });

  it('names every entry that is neither', () => {
    expect(
      parseOutboundAllow('10.0.0.0/33,127.1,2130706433,under_score,*.example.com,::1/129,10.0.0.0/8/8').problems,
    ).toEqual([
      '"10.0.0.0/33" is neither a CIDR (address/prefix) nor a host name',
      '"127.1" is neither a CIDR (address/prefix) nor a host name',
      '"2130706433" is neither a CIDR (address/prefix) nor a host name',
      '"under_score" is neither a CIDR (address/prefix) nor a host name',
      '"*.example.com" is neither a CIDR (address/prefix) nor a host name',
      '"::1/129" is neither a CIDR (address/prefix) nor a host name',
      '"10.0.0.0/8/8" is neither a CIDR (address/prefix) nor a host name',
    ]);
  });
});
