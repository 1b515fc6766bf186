import type { ServerOptions as HttpServerOptions } from 'node:http';

/** Node's own defaults: 60 s for the request headers, 300 s for the whole request. */
export const HEADERS_TIMEOUT_MS = 60_000;
const REQUEST_TIMEOUT_MS = 300_000;

/**
 * `http.createServer` options for the HTTP servers Holdfast creates. Node applies headersTimeout
 * to upgrade requests too (a client that never ends its headers gets 408), but only checks every
 * connectionsCheckingInterval (30 s by default), so a short timeout needs a shorter check; and it
 * refuses a headersTimeout above requestTimeout.
 */
export function httpTimeouts(headersTimeout = HEADERS_TIMEOUT_MS): HttpServerOptions {
  return {
    headersTimeout,
    requestTimeout: Math.max(REQUEST_TIMEOUT_MS, headersTimeout),
    connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(headersTimeout / 4))),
  };
}
