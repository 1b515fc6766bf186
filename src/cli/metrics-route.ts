import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { sendText } from './static.js';

/**
 * `GET /metrics`, Prometheus text format. With a key, a scraper must send
 * `Authorization: Bearer <key>` (connection counts and close codes tell an outsider too much).
 */
export function createMetricsRoute(registry: Registry, key: string | undefined) {
  // Hash both sides so the comparison is constant-time whatever the lengths.
  const expected = key === undefined || key === '' ? undefined : digest(key);
  return async function handleMetrics(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (expected !== undefined && !authorized(request, expected)) {
      return sendText(response, 401, 'missing or wrong metrics key (Authorization: Bearer <key>)', { 'WWW-Authenticate': 'Bearer' });
    }
    const text = await registry.metrics();
    response.writeHead(200, { 'Content-Type': registry.contentType, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
    response.end(request.method === 'HEAD' ? undefined : text);
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function authorized(request: IncomingMessage, expected: Buffer): boolean {
  const match = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '');
  return match?.[1] !== undefined && timingSafeEqual(digest(match[1].trim()), expected);
}
