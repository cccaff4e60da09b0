import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { OutboundPolicy } from '@signoff/core';
import { isIP } from 'node:net';
import { Agent, buildConnector, request } from 'undici';

export interface HttpReply {
  status: number;
  body: string;
  /** A redirect's Location header as sent (never followed), else null. */
  location: string | null;
  /** How long the application asked us to wait (Retry-After, with a 429 or 503), else null. */
  retryAfterMs: number | null;
}

const MAX_REPLY_BYTES = 64 * 1024;

/** A GET whose body was longer than the caller's cap (see {@link HttpClient.get}). */
export class ReplyTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`the reply is larger than ${maxBytes} bytes`);
    this.name = 'ReplyTooLargeError';
  }
}

/**
 * The one HTTP client of every server-side request (back-channel logout tokens, SAML SOAP and
 * server-side POST). Every connection it opens goes through the outbound policy at connect time:
 * a DNS name is resolved and only an allowed address is connected to (so a name that resolves, or
 * is later re-pointed, to loopback or the internal network gets nowhere); an IP literal host, which
 * never reaches DNS, is checked as it is. A refusal rejects with OutboundPolicyError and sends nothing.
 */
@Injectable()
export class HttpClient implements OnApplicationShutdown {
  // One keep-alive pool for every delivery: most deliveries go to a handful of applications.
  private readonly agent: Agent;

  constructor(policy: OutboundPolicy) {
    this.agent = new Agent({ keepAliveTimeout: 10_000, connections: 64, connect: guardedConnector(policy) });
  }

  /**
   * POSTs a delivery with a hard per-attempt timeout (connect, headers and body together), and reads
   * at most 64 KiB of the reply: enough for a SOAP LogoutResponse, too little to be used against us.
   * Redirects are not followed (`maxRedirections: 0`, and undici's request has no redirect interceptor
   * here): a 3xx is the answer, with its Location, which may carry the application's reply (a SAML
   * LogoutResponse over Redirect), never a second request of ours. Throws on network errors, timeouts
   * and outbound policy refusals. `headers`: more request headers (a SET push's Accept and the
   * Authorization its receiver asked for).
   */
  async post(
    url: string,
    body: string,
    contentType: string,
    timeoutMs: number,
    headers: Record<string, string> = {},
  ): Promise<HttpReply> {
    return withDeadline(timeoutMs, async (signal) => {
      const response = await request(url, {
        method: 'POST',
        body,
        headers: { ...headers, 'content-type': contentType, 'user-agent': 'Signoff' },
        signal,
        dispatcher: this.agent,
        maxRedirections: 0,
      } as Parameters<typeof request>[1]);
      return replyOf(response, await bodyOf(response.body, MAX_REPLY_BYTES, 'cut'));
    });
  }

  /**
   * GETs a document (an SP's metadata) under the same policy and rules: a hard timeout for the whole
   * exchange, redirects not followed (a 3xx is the answer), and at most `maxBytes` of body: a longer
   * one is refused (ReplyTooLargeError) rather than cut, since a cut document is a different document.
   */
  async get(url: string, accept: string, timeoutMs: number, maxBytes: number): Promise<HttpReply> {
    return withDeadline(timeoutMs, async (signal) => {
      const response = await request(url, {
        method: 'GET',
        headers: { accept, 'user-agent': 'Signoff' },
        signal,
        dispatcher: this.agent,
        maxRedirections: 0,
      } as Parameters<typeof request>[1]);
      return replyOf(response, await bodyOf(response.body, maxBytes, 'refuse'));
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.agent.destroy();
  }
}

/**
 * Runs one exchange under a hard deadline: past `timeoutMs` its signal aborts with a TimeoutError.
 * The timer is cleared when the exchange ends. AbortSignal.timeout's is not: it fires later for every
 * request that long finished, building a DOMException each time, which a fan-out of thousands of
 * requests pays for on the main thread in the middle of its later sends.
 */
async function withDeadline<T>(timeoutMs: number, exchange: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new DOMException(`no answer within ${timeoutMs} ms`, 'TimeoutError')),
    timeoutMs,
  ).unref();
  try {
    return await exchange(controller.signal);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Reads at most `maxBytes` of a body: past that, `cut` keeps what came (a delivery's reply only needs
 * its start) and `refuse` throws ReplyTooLargeError (a cut document is a different document).
 */
async function bodyOf(
  body: AsyncIterable<Buffer> & { destroy(): unknown },
  maxBytes: number,
  overflow: 'cut' | 'refuse',
): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > maxBytes) {
      body.destroy();
      if (overflow === 'refuse') throw new ReplyTooLargeError(maxBytes);
      break;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function replyOf(response: { statusCode: number; headers: Record<string, unknown> }, body: string): HttpReply {
  const location = response.headers.location;
  return {
    status: response.statusCode,
    body,
    location: typeof location === 'string' ? location : null,
    retryAfterMs: retryAfterMs(response.headers['retry-after']),
  };
}

/**
 * Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP-date, as a wait from now in milliseconds;
 * null when absent or unreadable. A date in the past is no wait.
 */
export function retryAfterMs(header: unknown, now = Date.now()): number | null {
  if (typeof header !== 'string') return null;
  const value = header.trim();
  if (/^\d{1,10}$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) || !/[a-z]/i.test(value) ? null : Math.max(0, at - now);
}

/** undici's connector with the policy in front: hosts named in OUTBOUND_ALLOW connect as they are. */
function guardedConnector(policy: OutboundPolicy): buildConnector.connector {
  const open = buildConnector({});
  const guarded = buildConnector({ lookup: policy.lookup } as buildConnector.BuildOptions);
  return (options, callback) => {
    if (policy.allowsHost(options.hostname)) return open(options, callback);
    // net.connect skips `lookup` for an IP literal; undici hands IPv6 literals over without brackets.
    if (isIP(options.hostname)) {
      try {
        policy.check(options.hostname);
      } catch (error) {
        return callback(error as Error, null);
      }
    }
    return guarded(options, callback);
  };
}
