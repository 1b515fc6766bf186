import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

/**
 * The client's address as the per-address limits see it. Behind `trustedProxies` proxies, each
 * of which appends the address it received the request from to `X-Forwarded-For`, the client is
 * that many entries from the right of the list, counting the socket's peer (the nearest proxy) as
 * the first. The header is trusted only this far: a client can write anything at its left end.
 * With no proxies trusted, the header is ignored, so a client cannot pick its own address.
 */
export function clientAddress(request: IncomingMessage, trustedProxies: number): string | undefined {
  const peer = request.socket.remoteAddress;
  if (trustedProxies <= 0) return peer;
  const header = request.headers['x-forwarded-for'];
  const forwarded = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  // [client, proxy 1, …, proxy n-1] + the peer (proxy n): the client is n entries left of the peer.
  const chain = peer === undefined ? forwarded : [...forwarded, peer];
  const candidate = chain[chain.length - 1 - trustedProxies];
  // Fewer entries than proxies (a misconfiguration or a client bypassing them), or garbage: the peer.
  return candidate !== undefined && isIP(candidate) !== 0 ? candidate : peer;
}
