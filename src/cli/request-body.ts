import type { IncomingMessage } from 'node:http';
import { ErrorCode } from '../protocol/index.js';

/** A refusal of the HTTP API: the status, and the code and message of its JSON body. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The HTTP API's code for a body that is not JSON (no counterpart in the WebSocket protocol). */
export const UNSUPPORTED_MEDIA_TYPE = 'UNSUPPORTED_MEDIA_TYPE';

/**
 * Reads the body as UTF-8, refusing early (by Content-Length) or once it grows past `limit` bytes
 * (413), and giving up after `timeoutMs` (408): a client trickling a body must not hold the request,
 * its buffer and its socket for Node's 300 s requestTimeout.
 */
export function readBody(request: IncomingMessage, limit: number, timeoutMs: number): Promise<string> {
  const tooLarge = new ApiError(413, ErrorCode.PayloadTooLarge, `the request body is larger than ${limit} bytes`);
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const fail = (error: ApiError) => {
      clearTimeout(timer);
      request.off('data', onData);
      request.resume(); // drain and discard the rest; the answer closes the connection
      reject(error);
    };
    const timer = setTimeout(
      () => fail(new ApiError(408, ErrorCode.RequestTimeout, `the request body did not arrive within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return fail(tooLarge);
      chunks.push(chunk);
    };
    request.on('data', onData);
    request.on('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    // A reset or a hang-up mid-body is the client's doing (answered 400 if anyone still listens), not a server error.
    const cutOff = () => {
      clearTimeout(timer);
      if (!request.complete) reject(new ApiError(400, ErrorCode.InvalidFrame, 'the request body was cut off'));
    };
    request.on('error', cutOff);
    // A client that hangs up mid-body fires neither 'end' nor always 'error'; settle anyway.
    request.on('close', cutOff);
  });
}

/** `application/json`, with or without parameters such as `charset=utf-8`. */
export function isJsonContentType(header: string | undefined): boolean {
  if (header === undefined) return false;
  const [type, ...parameters] = header.split(';').map((part) => part.trim().toLowerCase());
  if (type !== 'application/json') return false;
  // A JSON body is UTF-8 (RFC 8259); a charset that says otherwise would be decoded wrongly.
  return parameters.every((parameter) => !parameter.startsWith('charset=') || /^charset="?utf-8"?$/.test(parameter));
}
