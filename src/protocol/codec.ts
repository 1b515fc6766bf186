import { ErrorCode } from './codes.js';
import type { ClientFrame, ServerFrame } from './frames.js';

/**
 * Turns frames into WebSocket text and back. An interface, so a binary codec can replace JSON
 * later without touching the client or server state machines.
 */
export interface Codec {
  readonly name: string;
  encode(frame: ClientFrame | ServerFrame): string;
  /** Parses and validates a frame sent by a client (used by the server). */
  decodeClientFrame(text: string): DecodeResult<ClientFrame>;
  /** Parses and validates a frame sent by a server (used by the client). */
  decodeServerFrame(text: string): DecodeResult<ServerFrame>;
}

export type DecodeResult<F> =
  | { ok: true; frame: F }
  /** `code` is MALFORMED_FRAME, INVALID_FRAME or UNKNOWN_FRAME_TYPE. */
  | { ok: false; code: string; message: string; type?: string };

type Json = Record<string, unknown>;
type Check = (frame: Json) => string | undefined;

// Field checks return the reason a frame is invalid, or undefined when it is fine.
const str = (field: string, optional = false, maxLength = Infinity): Check => (f) => {
  const value = f[field];
  if (value === undefined) return optional ? undefined : `${field} is required`;
  if (typeof value !== 'string') return `${field} must be a string`;
  return value.length <= maxLength ? undefined : `${field} is longer than ${maxLength} characters`;
};
/** Bound on `key`, `method` and `id`, which the server keeps in memory and in stores. */
export const MAX_NAME_LENGTH = 256;
const int = (field: string, optional = false): Check => (f) =>
  f[field] === undefined
    ? optional ? undefined : `${field} is required`
    : Number.isSafeInteger(f[field]) && (f[field] as number) >= 0 ? undefined : `${field} must be a non-negative integer`;
const present = (field: string): Check => (f) => (field in f ? undefined : `${field} is required`);
const bool = (field: string): Check => (f) => (typeof f[field] === 'boolean' ? undefined : `${field} must be a boolean`);
const obj = (field: string, optional = false): Check => (f) =>
  f[field] === undefined ? (optional ? undefined : `${field} is required`) : isObject(f[field]) ? undefined : `${field} must be an object`;
const oneOf = (field: string, values: readonly string[]): Check => (f) =>
  f[field] === undefined || values.includes(f[field] as string) ? undefined : `${field} must be one of ${values.join(', ')}`;

const resumeCheck: Check = (f) => {
  if (f.resume === undefined) return undefined;
  const r = f.resume;
  return isObject(r) && typeof r.session === 'string' && typeof r.token === 'string'
    ? undefined
    : 'resume must be {session: string, token: string}';
};
const seqWithId: Check = (f) =>
  (f.seq === undefined) === (f.id === undefined) ? undefined : 'seq and id must come together';
const positiveSeq: Check = (f) => (f.seq === undefined || (f.seq as number) >= 1 ? undefined : 'seq starts at 1');
const offsetsCheck: Check = (f) => {
  if (f.offsets === undefined) return undefined;
  if (!isObject(f.offsets)) return 'offsets must be an object';
  for (const value of Object.values(f.offsets)) {
    if (!Number.isSafeInteger(value) || (value as number) < 0) return 'offsets must map topics to non-negative integers';
  }
  return undefined;
};
const repliesCheck: Check = (f) =>
  f.replies === undefined || (Array.isArray(f.replies) && f.replies.every((s) => Number.isSafeInteger(s)))
    ? undefined
    : 'replies must be an array of integers';

const CLIENT_FRAMES: Record<string, Check[]> = {
  hello: [int('v'), resumeCheck],
  sub: [str('topic'), str('epoch', true), int('offset', true), oneOf('from', ['now', 'start'])],
  unsub: [str('topic')],
  pub: [str('topic'), present('data'), str('key', true, MAX_NAME_LENGTH), int('seq', true), str('id', true, MAX_NAME_LENGTH), seqWithId, positiveSeq],
  req: [int('seq'), str('id', false, MAX_NAME_LENGTH), str('method', false, MAX_NAME_LENGTH), present('data'), positiveSeq],
  ack: [offsetsCheck, repliesCheck],
  ping: [],
  pong: [],
};

const SERVER_FRAMES: Record<string, Check[]> = {
  welcome: [int('v'), str('session'), str('token'), bool('resumed'), obj('heartbeat'), obj('limits')],
  subscribed: [str('topic'), str('mode'), str('epoch'), int('offset'), bool('recovering'), bool('recovered')],
  unsubscribed: [str('topic')],
  msg: [str('topic'), present('data'), int('offset', true), str('key', true)],
  ack: [int('seq')],
  reply: [int('seq'), bool('ok'), (f) => (f.ok === false && !isObject(f.error) ? 'error must be an object' : undefined)],
  error: [str('code'), str('message'), str('topic', true), oneOf('for', ['sub', 'pub']), int('retryAfter', true)],
  ping: [],
  pong: [],
};

function decode<F>(text: string, table: Record<string, Check[]>): DecodeResult<F> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, code: ErrorCode.MalformedFrame, message: 'frame is not valid JSON' };
  }
  if (!isObject(value) || typeof value.type !== 'string') {
    return { ok: false, code: ErrorCode.MalformedFrame, message: 'frame must be a JSON object with a string type' };
  }
  const checks = table[value.type];
  if (checks === undefined || !Object.hasOwn(table, value.type)) {
    return { ok: false, code: ErrorCode.UnknownFrameType, message: `unknown frame type "${value.type.slice(0, 64)}"`, type: value.type };
  }
  for (const check of checks) {
    const reason = check(value);
    if (reason !== undefined) {
      return { ok: false, code: ErrorCode.InvalidFrame, message: `${value.type}: ${reason}`, type: value.type };
    }
  }
  return { ok: true, frame: value as F };
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export const jsonCodec: Codec = {
  name: 'json',
  encode: (frame) => JSON.stringify(frame),
  decodeClientFrame: (text) => decode<ClientFrame>(text, CLIENT_FRAMES),
  decodeServerFrame: (text) => decode<ServerFrame>(text, SERVER_FRAMES),
};

/** UTF-8 size of a value's JSON, as the payload limit counts it. Throws for what JSON cannot hold. */
export function payloadSize(data: unknown): number {
  const text = JSON.stringify(data);
  return text === undefined ? 0 : utf8Length(text);
}

/** Default bound on how deeply `data` may nest arrays and objects (PROTOCOL.md, Transport). */
export const DEFAULT_MAX_DEPTH = 64;

/**
 * How deeply arrays and objects nest in JSON text, counting stops just past `limit`. A linear scan
 * that skips string contents; it exists because JSON.parse accepts any depth while JSON.stringify
 * throws on values nested a few thousand levels deep, and the server must re-encode what it stores.
 */
export function jsonDepth(text: string, limit = Infinity): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \\ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > deepest && (deepest = depth) > limit) return deepest;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    }
  }
  return deepest;
}

/**
 * Whether JSON text nests arrays and objects deeper than `limit`. Each level needs an opening
 * bracket, so text with at most `limit` of them cannot, and counting them takes a few native
 * `indexOf` scans where jsonDepth walks every character in JavaScript: the server checks every
 * frame it receives, and almost none come near the limit.
 */
export function nestsDeeperThan(text: string, limit: number): boolean {
  let brackets = 0;
  for (let i = text.indexOf('{'); i !== -1 && brackets <= limit; i = text.indexOf('{', i + 1)) brackets++;
  for (let i = text.indexOf('['); i !== -1 && brackets <= limit; i = text.indexOf('[', i + 1)) brackets++;
  return brackets > limit && jsonDepth(text, limit) > limit;
}

export interface PayloadMeasure {
  bytes: number;
  depth: number;
}

/** Size and nesting of `data`, or undefined when JSON cannot represent it (BigInt, cycles). */
export function measurePayload(data: unknown, depthLimit = Infinity): PayloadMeasure | undefined {
  let text: string | undefined;
  try {
    text = JSON.stringify(data);
  } catch {
    return undefined;
  }
  return text === undefined ? { bytes: 0, depth: 0 } : { bytes: utf8Length(text), depth: jsonDepth(text, depthLimit) };
}

/** UTF-8 byte length of a string, without allocating (works the same in browsers and Node). */
export function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c <= 0x7f) continue;
    // Each half of a surrogate pair is one code unit of a 4-byte sequence: 2 more bytes each.
    bytes += c <= 0x7ff || (c >= 0xd800 && c <= 0xdfff) ? 1 : 2;
  }
  return bytes;
}
