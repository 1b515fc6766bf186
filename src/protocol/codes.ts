/**
 * Close codes and error codes: one table each, stable, documented in PROTOCOL.md.
 */

export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  Abnormal: 1006,
  /** A text message that is not UTF-8 (the WebSocket layer closes it; RFC 6455). */
  InvalidPayloadData: 1007,
  MessageTooBig: 1009,
  ServiceRestart: 1012,
  /** Set locally when the heartbeat bound passed; never sent on the wire. */
  HeartbeatTimeout: 4001,
  ProtocolViolation: 4400,
  Unauthenticated: 4401,
  HelloTimeout: 4408,
  SessionReplaced: 4409,
  UnsupportedVersion: 4426,
  /** The send buffer stayed over its limit (a client that does not read); retried. */
  SlowConsumer: 4413,
  TooManyConnections: 4429,
  InternalError: 4500,
  Unavailable: 4503,
} as const;

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/**
 * Close codes after which the client must not reconnect. Every other code is retried, 4409
 * (SESSION_REPLACED) included: a session's tokens live in one client object only, so what replaced
 * the session is that client's own earlier attempt, one it gave up on (a connect timeout) but that
 * a node finished later. Reconnecting resumes with the newest token, or starts a new session from
 * the subscriptions' positions with the outbox resent, which loses nothing; giving up would.
 */
const FINAL_CLOSE_CODES: ReadonlySet<number> = new Set([CloseCode.Normal, CloseCode.ProtocolViolation, CloseCode.Unauthenticated, CloseCode.UnsupportedVersion]);

/** Whether a client may reconnect after a close with this code. */
export function isRetryableClose(code: number): boolean {
  return !FINAL_CLOSE_CODES.has(code);
}

export const ErrorCode = {
  MalformedFrame: 'MALFORMED_FRAME',
  InvalidFrame: 'INVALID_FRAME',
  HelloRequired: 'HELLO_REQUIRED',
  DuplicateHello: 'DUPLICATE_HELLO',
  UnsupportedVersion: 'UNSUPPORTED_VERSION',
  Unauthenticated: 'UNAUTHENTICATED',
  HelloTimeout: 'HELLO_TIMEOUT',
  SessionReplaced: 'SESSION_REPLACED',
  TooManyConnections: 'TOO_MANY_CONNECTIONS',
  SlowConsumer: 'SLOW_CONSUMER',
  ServerShutdown: 'SERVER_SHUTDOWN',
  Internal: 'INTERNAL',
  UnknownFrameType: 'UNKNOWN_FRAME_TYPE',
  InvalidTopic: 'INVALID_TOPIC',
  UnknownTopic: 'UNKNOWN_TOPIC',
  Forbidden: 'FORBIDDEN',
  PayloadTooLarge: 'PAYLOAD_TOO_LARGE',
  InvalidPayload: 'INVALID_PAYLOAD',
  TooManySubscriptions: 'TOO_MANY_SUBSCRIPTIONS',
  RateLimited: 'RATE_LIMITED',
  UnknownMethod: 'UNKNOWN_METHOD',
  HandlerError: 'HANDLER_ERROR',
  DuplicateRequest: 'DUPLICATE_REQUEST',
  OutcomeUnknown: 'OUTCOME_UNKNOWN',
  StoreUnavailable: 'STORE_UNAVAILABLE',
  StoreFull: 'STORE_FULL',
  /** The server holds its most topics, or this connection created topics faster than allowed. */
  TooManyTopics: 'TOO_MANY_TOPICS',
  /** The server holds `maxSessions` sessions; a new one is refused (close 4503), a resume is not. */
  TooManySessions: 'TOO_MANY_SESSIONS',
  /** A `latest` topic holds its most keys; a new key is refused (existing keys still update). */
  TooManyKeys: 'TOO_MANY_KEYS',
  // Raised when a server starts, never sent on the wire (docs/store.md).
  DataFolderUnusable: 'DATA_FOLDER_UNUSABLE',
  DatabaseLocked: 'DATABASE_LOCKED',
  DatabaseTooNew: 'DATABASE_TOO_NEW',
  OutboxFull: 'OUTBOX_FULL',
  RequestTimeout: 'REQUEST_TIMEOUT',
  ClientClosed: 'CLIENT_CLOSED',
  ReconnectExhausted: 'RECONNECT_EXHAUSTED',
  OutboxStorageFailed: 'OUTBOX_STORAGE_FAILED',
  OutboxExpired: 'OUTBOX_EXPIRED',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
