import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode, isHoldfastError } from '../protocol/index.js';

/** What the API needs from the server: `HoldfastServer.publish`. */
export interface Publisher {
  publish(topic: string, data: unknown, options?: { key?: string }): Promise<{ offset?: number }>;
}

export interface PublishApiOptions {
  /** When set, requests must carry `Authorization: Bearer <apiKey>`. */
  apiKey?: string | undefined;
  /** Largest request body in bytes. @default 1 MiB */
  maxBody?: number;
  /** Receives unexpected failures (answered 500). @default console.error */
  onError?: (error: unknown) => void;
}

/** Error codes of the HTTP API that have no counterpart in the WebSocket protocol. */
const NOT_FOUND = 'NOT_FOUND';
const METHOD_NOT_ALLOWED = 'METHOD_NOT_ALLOWED';

/** HTTP status for a code from `server.publish`'s rejection. */
const STATUS_BY_CODE: Record<string, number> = {
  [ErrorCode.InvalidTopic]: 400,
  [ErrorCode.UnknownTopic]: 400,
  [ErrorCode.Forbidden]: 403,
  [ErrorCode.PayloadTooLarge]: 413,
  [ErrorCode.StoreUnavailable]: 503,
  // Insufficient Storage: the disk, or the database's --max-db-size, is full; nothing was stored.
  [ErrorCode.StoreFull]: 507,
  [ErrorCode.ServerShutdown]: 503,
};

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * `POST /api/publish` with `{topic, data, key?}`: publishing for backends in any language, with the
 * same topic rules and error codes as a WebSocket `pub`. Answers 200 `{offset}` once the message is
 * stored (no `offset` for volatile topics), else `{error: {code, message}}`.
 */
export function createPublishApi(publisher: Publisher, options: PublishApiOptions = {}) {
  const maxBody = options.maxBody ?? 1024 * 1024;
  const onError = options.onError ?? ((error: unknown) => console.error('[holdfast] publish API:', error));
  // Hash both sides so the comparison is constant-time whatever the lengths.
  const expected = options.apiKey === undefined || options.apiKey === '' ? undefined : digest(options.apiKey);

  return async function handlePublishApi(request: IncomingMessage, response: ServerResponse, pathname: string): Promise<void> {
    try {
      if (pathname !== '/api/publish') throw new ApiError(404, NOT_FOUND, `no API endpoint ${pathname}`);
      if (request.method !== 'POST') {
        response.setHeader('Allow', 'POST');
        throw new ApiError(405, METHOD_NOT_ALLOWED, 'use POST');
      }
      if (expected !== undefined && !authorized(request, expected)) {
        response.setHeader('WWW-Authenticate', 'Bearer');
        throw new ApiError(401, ErrorCode.Unauthenticated, 'missing or wrong API key (Authorization: Bearer <key>)');
      }
      const body = parseBody(await readBody(request, maxBody));
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

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function authorized(request: IncomingMessage, expected: Buffer): boolean {
  const match = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '');
  return match?.[1] !== undefined && timingSafeEqual(digest(match[1].trim()), expected);
}

/** Reads the body, refusing early (by Content-Length) or once it grows past `limit`. */
function readBody(request: IncomingMessage, limit: number): Promise<string> {
  const tooLarge = new ApiError(413, ErrorCode.PayloadTooLarge, `the request body is larger than ${limit} bytes`);
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        request.off('data', onData);
        request.resume(); // drain and discard the rest
        reject(tooLarge);
        return;
      }
      chunks.push(chunk);
    };
    request.on('data', onData);
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
    // A client that hangs up mid-body fires neither 'end' nor always 'error'; settle anyway.
    request.on('close', () => {
      if (!request.complete) reject(new ApiError(400, ErrorCode.InvalidFrame, 'the request body was cut off'));
    });
  });
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
  });
  response.end(text);
}
