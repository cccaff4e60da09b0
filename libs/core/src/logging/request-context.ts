import { AsyncLocalStorage } from 'node:async_hooks';

export interface RequestContext {
  requestId: string;
  ip: string | undefined;
}

/** Carries the request id and client address to logs and audit events without threading them through calls. */
export const requestContext = new AsyncLocalStorage<RequestContext>();
