import type { IncomingMessage } from 'node:http';

/** The whole request body as text, for the test servers that stand in for applications. */
export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => resolve(body));
  });
}
