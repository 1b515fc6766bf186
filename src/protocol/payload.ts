/**
 * Whether `data` may travel (PROTOCOL.md, Transport): JSON can hold it, it nests arrays and objects
 * at most `maxDepth` deep, and its JSON takes at most `maxPayload` UTF-8 bytes. One definition for
 * the client's check before sending, the server's check of what it receives, and the server's own
 * publishes, so a payload one side accepts the other does too.
 */
import { ErrorCode } from './codes.js';
import type { ErrorBody } from './frames.js';
import { nestsDeeperThan, payloadSize, utf8Length } from './json.js';

/** What a server accepts as `data`: its `welcome.limits`, or PROTOCOL_DEFAULTS before one. */
export interface PayloadLimits {
  maxPayload: number;
  maxDepth: number;
}

/** Why `data` cannot travel within `limits`, or undefined when it can (`undefined` travels as null). */
export function payloadError(data: unknown, limits: PayloadLimits): ErrorBody | undefined {
  const text = encode(data);
  if (typeof text !== 'string') return text;
  const deep = depthError(text, 0, limits.maxDepth);
  if (deep !== undefined) return deep;
  if (fitsUncounted(text, limits.maxPayload)) return undefined;
  return sizeError(utf8Length(text), limits.maxPayload);
}

/**
 * As payloadError, for a sender that needs the UTF-8 size of `data`'s JSON anyway (a store counts
 * it): the size when `data` may travel, else why not.
 */
export function checkPayload(data: unknown, limits: PayloadLimits): number | ErrorBody {
  const text = encode(data);
  if (text === undefined) return 0;
  if (typeof text !== 'string') return text;
  const bytes = utf8Length(text);
  return depthError(text, 0, limits.maxDepth) ?? sizeError(bytes, limits.maxPayload) ?? bytes;
}

/**
 * As payloadError, for `data` that arrived inside the frame whose text is `frame`: the receiver
 * scans the text it holds instead of encoding `data` again, and counts nothing for most frames.
 */
export function framedPayloadError(data: unknown, frame: string, limits: PayloadLimits): ErrorBody | undefined {
  // The frame object itself is one level around `data`.
  const deep = depthError(frame, 1, limits.maxDepth);
  if (deep !== undefined) return deep;
  if (fitsUncounted(frame, limits.maxPayload)) return undefined;
  return sizeError(payloadSize(data), limits.maxPayload);
}

/** The JSON of `data`; undefined for what JSON leaves out (undefined, a function). */
function encode(data: unknown): string | undefined | ErrorBody {
  try {
    return JSON.stringify(data);
  } catch {
    // BigInt, cycles: JSON.stringify throws.
    return { code: ErrorCode.InvalidPayload, message: 'data is not JSON-serialisable' };
  }
}

/** `around`: levels of nesting the text has around `data`. */
function depthError(text: string, around: number, maxDepth: number): ErrorBody | undefined {
  const limit = maxDepth + around;
  // Each level takes a bracket pair, so text shorter than that cannot nest too deep (most payloads).
  if (text.length <= 2 * limit || !nestsDeeperThan(text, limit)) return undefined;
  return { code: ErrorCode.InvalidPayload, message: `data nests deeper than ${maxDepth} levels` };
}

/** A text of at most max/3 UTF-16 code units cannot take more than max UTF-8 bytes: no need to count. */
function fitsUncounted(text: string, maxPayload: number): boolean {
  return text.length * 3 <= maxPayload;
}

function sizeError(bytes: number, maxPayload: number): ErrorBody | undefined {
  if (bytes <= maxPayload) return undefined;
  return { code: ErrorCode.PayloadTooLarge, message: `data is ${bytes} bytes; the limit is ${maxPayload} bytes` };
}
