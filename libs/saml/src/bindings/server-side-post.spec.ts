import { formFields, logoutResponseInReply } from './server-side-post';

const B64 = 'PHNhbWxwOkxvZ291dFJlc3BvbnNlLz4+Lw==';

describe('logoutResponseInReply', () => {
  it('reads a SAMLResponse from a redirect, keeping the raw query its signature covers', () => {
    const query = `SAMLResponse=${encodeURIComponent(B64)}&RelayState=r%201&SigAlg=x&Signature=y`;
    const found = logoutResponseInReply({ status: 302, body: '', location: `https://idp.test/saml/slo?${query}#top` });
    expect(found).toMatchObject({
      kind: 'message',
      message: {
        binding: 'redirect',
        message: B64,
        relayState: 'r 1',
        query: { raw: { SigAlg: 'x', Signature: 'y' } },
      },
    });
  });

  it.each([
    ['a redirect without a query', { status: 302, body: '', location: 'https://sp.test/signed-out' }],
    ['a redirect to a page of its own', { status: 303, body: '', location: '/done?x=1&SAMLRequestish=2' }],
    ['a redirect without a Location', { status: 302, body: '' }],
    ['a plain 200', { status: 200, body: '' }],
    ['a page without a form', { status: 200, body: '<!doctype html><p>Signed out</p>' }],
    ['a form with other fields', { status: 200, body: '<form><input name="csrf" value="a"></form>' }],
    [
      'a redirect carrying a request, not a response',
      { status: 302, body: '', location: `https://idp.test/slo?SAMLRequest=${B64}` },
    ],
  ])('finds none in %s', (_name, reply) => {
    expect(logoutResponseInReply(reply)).toEqual({ kind: 'none' });
  });

  it('reads a SAMLResponse from an auto-posting form, entities decoded', () => {
    const html = `<!doctype html><form method="post" action="https://idp.test/saml/slo">
      <INPUT type=hidden NAME='SAMLResponse' value="${B64.replace(/\+/g, '&#43;').replace(/=/g, '&#x3D;')}" />
      <input type="hidden" name="RelayState" value="a&amp;b"></form><script>document.forms[0].submit()</script>`;
    expect(logoutResponseInReply({ status: 200, body: html })).toEqual({
      kind: 'message',
      message: { binding: 'post', message: B64, relayState: 'a&b' },
    });
  });

  it.each([
    [
      'two SAMLResponse fields',
      { status: 200, body: `<input name="SAMLResponse" value="${B64}"><input name="SAMLResponse" value="x">` },
      /more than one SAMLResponse/,
    ],
    [
      'two RelayState fields',
      {
        status: 200,
        body: `<input name="SAMLResponse" value="${B64}"><input name="RelayState" value="a"><input name="RelayState" value="b">`,
      },
      /more than one RelayState/,
    ],
    [
      'a redirect with two SAMLResponses',
      { status: 302, body: '', location: `https://idp.test/slo?SAMLResponse=a&SAMLResponse=b` },
      /more than once/,
    ],
    [
      'a redirect with a request and a response',
      { status: 302, body: '', location: `https://idp.test/slo?SAMLResponse=a&SAMLRequest=b` },
      /one SAMLRequest or one SAMLResponse/,
    ],
  ])('refuses to guess with %s', (_name, reply, problem) => {
    const found = logoutResponseInReply(reply);
    expect(found.kind).toBe('unreadable');
    expect((found as { problem: string }).problem).toMatch(problem);
  });
});

describe('formFields', () => {
  it('reads every input with a name, in order, whatever the quoting', () => {
    expect(
      formFields(
        `<input name=a value=1><input value='2' name='b'><input name="c"><input value="no name"><input name="d" value="&lt;&#60;&#x3c;&bogus;">`,
      ),
    ).toEqual([
      ['a', '1'],
      ['b', '2'],
      ['c', ''],
      ['d', '<<<&bogus;'],
    ]);
  });
});
