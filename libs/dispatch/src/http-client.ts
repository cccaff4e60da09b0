import { Agent, request } from 'undici';

export interface HttpReply {
  status: number;
  body: string;
}

const MAX_REPLY_BYTES = 64 * 1024;

// One keep-alive pool for every delivery: most deliveries go to a handful of applications.
const agent = new Agent({ keepAliveTimeout: 10_000, connections: 64 });

/**
 * POSTs a delivery with a hard per-attempt timeout (connect, headers and body together), and reads
 * at most 64 KiB of the reply: enough for a SOAP LogoutResponse, too little to be used against us.
 * Redirects are not followed. Throws on network errors and timeouts.
 */
export async function post(url: string, body: string, contentType: string, timeoutMs: number): Promise<HttpReply> {
  const signal = AbortSignal.timeout(timeoutMs);
  const response = await request(url, {
    method: 'POST',
    body,
    headers: { 'content-type': contentType, 'user-agent': 'Signoff' },
    signal,
    dispatcher: agent,
    maxRedirections: 0,
  } as Parameters<typeof request>[1]);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += chunk.length;
    if (size > MAX_REPLY_BYTES) {
      response.body.destroy();
      break;
    }
    chunks.push(chunk);
  }
  return { status: response.statusCode, body: Buffer.concat(chunks).toString('utf8') };
}
