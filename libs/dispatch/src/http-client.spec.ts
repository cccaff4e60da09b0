import { OutboundPolicy } from '@signoff/core';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpClient } from './http-client';

/** An application on 127.0.0.1 that answers as `answer` says. */
async function application(
  answer: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => answer(req, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/bcl`, server };
}

describe('HttpClient deadlines', () => {
  const client = new HttpClient(new OutboundPolicy({ allowLoopback: true, allow: { cidrs: [], hosts: [] } }));
  const servers: Server[] = [];
  afterAll(async () => {
    await client.onApplicationShutdown();
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('an answer within the deadline is the reply', async () => {
    const { url, server } = await application((_req, res) => res.writeHead(200).end('ok'));
    servers.push(server);
    // A deadline far above the answer's time: a loaded CI machine took more than 150 ms for this first request.
    const reply = await client.post(url, 'logout_token=x', 'application/x-www-form-urlencoded', 5000);
    expect(reply).toMatchObject({ status: 200, body: 'ok', location: null, retryAfterMs: null });
  });

  it('an application that never answers: a TimeoutError at the deadline', async () => {
    const { url, server } = await application(() => undefined);
    servers.push(server);
    const started = Date.now();
    await expect(client.post(url, 'logout_token=x', 'application/x-www-form-urlencoded', 200)).rejects.toMatchObject({
      name: 'TimeoutError',
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('the deadline covers the body: headers at once, a body that never ends, a TimeoutError', async () => {
    const { url, server } = await application((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial');
    });
    servers.push(server);
    await expect(client.get(url, 'text/plain', 200, 1024)).rejects.toMatchObject({ name: 'TimeoutError' });
  });
});
