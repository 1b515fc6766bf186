/**
 * Frames to WebSocket text and back: JSON, the one encoding of protocol version 1 (PROTOCOL.md,
 * Transport). Decoding validates every field PROTOCOL.md gives a type, so the state machines of
 * the client and the server only ever see well-formed frames.
 */
import { ErrorCode } from './codes.js';
import { MAX_NAME_LENGTH, type ClientFrame, type ServerFrame } from './frames.js';

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

/** The text of a frame, one line of a WebSocket message (JSON.stringify escapes every line feed). */
export function encodeFrame(frame: ClientFrame | ServerFrame): string {
  return JSON.stringify(frame);
}

/** Parses and validates a frame sent by a client (used by the server). */
export function decodeClientFrame(text: string): DecodeResult<ClientFrame> {
  return decode<ClientFrame>(text, CLIENT_FRAMES);
}

/** Parses and validates a frame sent by a server (used by the client). */
export function decodeServerFrame(text: string): DecodeResult<ServerFrame> {
  return decode<ServerFrame>(text, SERVER_FRAMES);
}
