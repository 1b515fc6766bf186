import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

/**
 * Which browser origins may open a WebSocket (or, in the standalone server, post to the HTTP API):
 * - a list of origins (`https://app.example`), where `scheme://host:*` matches any port and `'*'`
 *   any origin;
 * - `'*'`: every origin;
 * - a function, asked for each cross-origin request.
 *
 * Whatever the policy, a request without an `Origin` header (not a browser: a Node client, curl)
 * and a same-origin one (the Origin's host and port are the request's `Host`) are allowed.
 */
export type AllowedOrigins = readonly string[] | '*' | ((origin: string, request: IncomingMessage) => boolean);

/** The origins a browser on this machine uses: `holdfast serve` allows them by default. */
export const LOOPBACK_ORIGINS: readonly string[] = ['http://localhost:*', 'http://127.0.0.1:*', 'http://[::1]:*'];

/**
 * Whether the request's origin may connect. The check against cross-site WebSocket hijacking: a
 * browser sends cookies with a WebSocket upgrade to any site, so a page elsewhere could otherwise
 * act as the user. Never throws (a malformed Origin or Host is simply not the same origin).
 */
export function originAllowed(request: IncomingMessage, policy: AllowedOrigins | undefined): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  if (policy === '*' || sameOrigin(origin, request.headers.host)) return true;
  if (policy === undefined) return false;
  if (typeof policy === 'function') return policy(origin, request);
  return policy.some((entry) => originMatches(origin, entry));
}

/** The Origin's host and port (the scheme's default port omitted, as URL writes it) equal `Host`'s. */
function sameOrigin(origin: string, host: string | undefined): boolean {
  const parsed = parseOrigin(origin);
  if (parsed === undefined || host === undefined || host === '') return false;
  const requested = parseOrigin(`${parsed.protocol}//${host}`);
  return requested !== undefined && requested.host === parsed.host;
}

/** `'*'`, an exact origin, or `scheme://host:*` for any port of that host. */
export function originMatches(origin: string, entry: string): boolean {
  if (entry === '*') return true;
  const parsed = parseOrigin(origin);
  if (parsed === undefined) return false;
  if (entry.endsWith(':*')) {
    const pattern = parseOrigin(entry.slice(0, -2));
    return pattern !== undefined && pattern.protocol === parsed.protocol && pattern.hostname === parsed.hostname;
  }
  const wanted = parseOrigin(entry);
  return wanted !== undefined && wanted.origin === parsed.origin;
}

/** Whether `entry` is an origin list entry `originMatches` understands (for the command line). */
export function isOriginEntry(entry: string): boolean {
  if (entry === '*') return true;
  const parsed = parseOrigin(entry.endsWith(':*') ? entry.slice(0, -2) : entry);
  return parsed !== undefined && (parsed.protocol === 'http:' || parsed.protocol === 'https:') && parsed.pathname === '/' && !entry.endsWith('/');
}

function parseOrigin(text: string): URL | undefined {
  try {
    const url = new URL(text);
    // `null` (sandboxed frames, file: pages) and other opaque origins match nothing but '*'.
    return url.host === '' ? undefined : url;
  } catch {
    return undefined;
  }
}

/** The names a browser on this machine uses for it: `holdfast serve` on a loopback address answers only to them. */
export const LOOPBACK_HOSTS: readonly string[] = ['localhost', '.localhost'];

/**
 * Whether a request's `Host` is one the server answers to (see `ServerOptions.allowedHosts`).
 * Without a list every host is. An IP literal always is: DNS rebinding needs a name to rebind.
 */
export function hostAllowed(host: string | undefined, allowed: readonly string[] | undefined): boolean {
  if (allowed === undefined) return true;
  const parsed = host === undefined ? undefined : parseOrigin(`http://${host}`);
  if (parsed === undefined) return false;
  const name = parsed.hostname.toLowerCase();
  if (isIP(name.startsWith('[') ? name.slice(1, -1) : name) !== 0) return true;
  return allowed.some((entry) => {
    const wanted = entry.toLowerCase();
    return wanted.startsWith('.') ? name === wanted.slice(1) || name.endsWith(wanted) : name === wanted;
  });
}
