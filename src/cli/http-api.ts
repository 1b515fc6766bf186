import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode, isHoldfastError, MAX_NAME_LENGTH } from '../protocol/index.js';
import { originAllowed, type AllowedOrigins } from '../server/origins.js';
import { ApiError, isJsonContentType, readBody, UNSUPPORTED_MEDIA_TYPE } from './request-body.js';

/** What the API needs from the server: `HoldfastServer.publish`. */
export interface Publisher {
  publish(topic: string, data: unknown, options?: { key?: string }): Promise<{ offset?: number }>;
}

export interface PublishApiOptions {
  /** When set, requests must carry `Authorization: Bearer <apiKey>`. */
  apiKey?: string | undefined;
  /** Largest request body in bytes. @default 1 MiB */
  maxBody?: number;
  /** ms to receive the whole body; a slower client gets 408 and its connection is closed. @default 10000 */
  bodyTimeoutMs?: number | undefined;
  /**
   * Browser origins allowed to post, besides the same origin (as `ServerOptions.allowedOrigins`).
   * Any other `Origin`, and `Sec-Fetch-Site: cross-site`, get 403: a page elsewhere cannot publish
   * through a user's browser. @default [] (same origin only)
   */
  allowedOrigins?: AllowedOrigins;
  /** Receives unexpected failures (answered 500), never a client's mistake. @default console.error */
  onError?: (error: unknown) => void;
}

/** How long a request body may take to arrive by default. */
const BODY_TIMEOUT_MS = 10_000;

/** Error codes of the HTTP API that have no counterpart in the WebSocket protocol. */
const NOT_FOUND = 'NOT_FOUND';
const METHOD_NOT_ALLOWED = 'METHOD_NOT_ALLOWED';

/** HTTP status for a code from `server.publish`'s rejection. */
const STATUS_BY_CODE: Record<string, number> = {
  [ErrorCode.MalformedFrame]: 400,
  [ErrorCode.InvalidFrame]: 400,
  [ErrorCode.InvalidTopic]: 400,
  [ErrorCode.UnknownTopic]: 400,
  [ErrorCode.InvalidPayload]: 400,
  [ErrorCode.Forbidden]: 403,
  [ErrorCode.PayloadTooLarge]: 413,
  [ErrorCode.RateLimited]: 429,
  [ErrorCode.StoreUnavailable]: 503,
  // Insufficient Storage: the disk, or the database's --max-db-size, is full; nothing was stored.
  [ErrorCode.StoreFull]: 507,
  [ErrorCode.ServerShutdown]: 503,
};

/**
 * `POST /api/publish` with `{topic, data, key?}`: publishing for backends in any language, with the
 * same topic rules and error codes as a WebSocket `pub`. Answers 200 `{offset}` once the message is
 * stored (no `offset` for volatile topics), else `{error: {code, message}}`.
 */
export function createPublishApi(publisher: Publisher, options: PublishApiOptions = {}) {
  const maxBody = options.maxBody ?? 1024 * 1024;
  const bodyTimeoutMs = options.bodyTimeoutMs ?? BODY_TIMEOUT_MS;
  const onError = options.onError ?? ((error: unknown) => console.error('[holdfast] publish API:', error));
  // Hash both sides so the comparison is constant-time whatever the lengths.
  const expected = options.apiKey === undefined || options.apiKey === '' ? undefined : digest(options.apiKey);

  return async function handlePublishApi(request: IncomingMessage, response: ServerResponse, pathname: string): Promise<void> {
    try {
      if (pathname !== '/api/publish') throw new ApiError(404, NOT_FOUND, `no API endpoint ${pathname.slice(0, 256)}`);
      if (request.method !== 'POST') {
        response.setHeader('Allow', 'POST');
        throw new ApiError(405, METHOD_NOT_ALLOWED, 'use POST');
      }
      if (!sameSiteOrAllowed(request, options.allowedOrigins)) {
        throw new ApiError(403, ErrorCode.Forbidden, 'cross-site requests may not publish');
      }
      if (expected !== undefined && !authorized(request, expected)) {
        response.setHeader('WWW-Authenticate', 'Bearer');
        throw new ApiError(401, ErrorCode.Unauthenticated, 'missing or wrong API key (Authorization: Bearer <key>)');
      }
      // Also keeps HTML forms out: a browser sends them cross-site without asking (no CORS preflight).
      if (!isJsonContentType(request.headers['content-type'])) {
        throw new ApiError(415, UNSUPPORTED_MEDIA_TYPE, 'the request body must be JSON (Content-Type: application/json)');
      }
      const body = parseBody(await readBody(request, maxBody, bodyTimeoutMs));
      const result = await publisher.publish(body.topic, body.data, body.key === undefined ? {} : { key: body.key });
      sendJson(response, 200, { offset: result.offset });
    } catch (error) {
      const failure = toApiError(error);
      if (failure.status >= 500) onError(error);
      // Unread body bytes would otherwise stall a keep-alive connection; closing is simpler.
      if (!request.complete) response.setHeader('Connection', 'close');
      sendJson(response, failure.status, { error: { code: failure.code, message: failure.message } });
    }
  };
}

/** An allowed Origin, or no Origin and no browser's word that the request is cross-site. */
function sameSiteOrAllowed(request: IncomingMessage, allowedOrigins: AllowedOrigins | undefined): boolean {
  if (request.headers.origin !== undefined) return originAllowed(request, allowedOrigins);
  return request.headers['sec-fetch-site'] !== 'cross-site';
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function authorized(request: IncomingMessage, expected: Buffer): boolean {
  const match = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '');
  return match?.[1] !== undefined && timingSafeEqual(digest(match[1].trim()), expected);
}

interface PublishBody {
  topic: string;
  data: unknown;
  key?: string;
}

/** Validates the body; the codes are the protocol's own for a bad frame. */
function parseBody(text: string): PublishBody {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ApiError(400, ErrorCode.MalformedFrame, 'the request body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ApiError(400, ErrorCode.MalformedFrame, 'the request body must be a JSON object {topic, data, key?}');
  }
  const body = value as Record<string, unknown>;
  if (typeof body.topic !== 'string') throw new ApiError(400, ErrorCode.InvalidFrame, '"topic" must be a string');
  if (!('data' in body)) throw new ApiError(400, ErrorCode.InvalidFrame, '"data" is required (any JSON value, null included)');
  if (body.key !== undefined && typeof body.key !== 'string') throw new ApiError(400, ErrorCode.InvalidFrame, '"key" must be a string');
  // The limit of a WebSocket `pub` (PROTOCOL.md): every key in the store came through one of the two.
  if (typeof body.key === 'string' && body.key.length > MAX_NAME_LENGTH) {
    throw new ApiError(400, ErrorCode.InvalidFrame, `"key" must have at most ${MAX_NAME_LENGTH} characters`);
  }
  return body.key === undefined ? { topic: body.topic, data: body.data } : { topic: body.topic, data: body.data, key: body.key };
}

function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (isHoldfastError(error)) return new ApiError(STATUS_BY_CODE[error.code] ?? 500, error.code, error.message);
  return new ApiError(500, ErrorCode.Internal, 'internal server error');
}

function sendJson(response: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  response.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  response.end(text);
}
