import { systemClock, type Clock } from '../protocol/clock.js';
import { PROTOCOL_DEFAULTS } from '../protocol/defaults.js';
import type { BackoffOptions } from './backoff.js';
import { detectEnvironment, type ClientEnvironment } from './environment.js';
import type { OutboxStorage } from './outbox-storage.js';
import type { WebSocketConstructor } from './socket.js';

export interface ReconnectOptions {
  /**
   * Upper bound, in ms, of the first retry's random delay; the bound doubles with every attempt.
   * @default 1000
   */
  initialDelay?: number;
  /**
   * Upper bound, in ms, of any retry delay (a server `retryAfter` comes on top).
   * @default 30000
   */
  maxDelay?: number;
  /**
   * Retries in one series of failures before the client closes with RECONNECT_EXHAUSTED.
   * @default Infinity
   */
  maxAttempts?: number;
  /**
   * ms since the connection was lost after which no retry is scheduled any more (the client closes
   * with RECONNECT_EXHAUSTED). Time spent 'offline' counts.
   * @default Infinity
   */
  maxElapsed?: number;
  /**
   * ms a connection must stay open for the attempt counter to start again from 1.
   * @default 5000
   */
  resetAfter?: number;
}

export interface ClientOptions {
  /**
   * The server's WebSocket URL, or a function giving it (called before every connection attempt,
   * e.g. to pick a node or add a fresh query token).
   * @default none: required
   */
  url: string | (() => string | Promise<string>);
  /**
   * Credentials sent in `hello.auth`. A function is called before every connection attempt, so it
   * can return a fresh token; its result (awaited) is sent.
   * @default undefined (no `auth` field)
   */
  auth?: unknown | (() => unknown | Promise<unknown>);
  /**
   * The WebSocket implementation. In Node 20, pass `WebSocket` from the `ws` package.
   * @default globalThis.WebSocket
   */
  WebSocket?: WebSocketConstructor;
  /**
   * Reconnect timing and limits; each field has its own default.
   * @default {} (see ReconnectOptions)
   */
  reconnect?: ReconnectOptions;
  /**
   * ms added to the server's heartbeat interval: silence longer than interval + grace means the
   * link is dead, and the client reconnects at once.
   * @default 10000
   */
  heartbeatGrace?: number;
  /**
   * ms for the socket to open and the `welcome` to arrive; otherwise the attempt is abandoned and
   * retried.
   * @default 10000
   */
  connectTimeout?: number;
  /**
   * ms an acknowledgement may wait to be batched with others.
   * @default 50
   */
  ackDelay?: number;
  /**
   * Pending acknowledgements that are sent at once without waiting for `ackDelay`.
   * @default 100
   */
  ackBatch?: number;
  /**
   * Reliable frames (publishes and requests) waiting for the server; one more is rejected at once
   * with OUTBOX_FULL.
   * @default 10000
   */
  outboxLimit?: number;
  /**
   * Keeps unconfirmed reliable publishes across page reloads: `indexedDbOutbox()` in a browser.
   * The next client with the same storage sends them (same ids, so the server drops any that had
   * arrived) before anything published after it started.
   * @default undefined (the outbox lives in memory only)
   */
  outboxStorage?: OutboxStorage;
  /**
   * ms after which a publish restored from `outboxStorage` is dropped (reported as OUTBOX_EXPIRED)
   * instead of sent: past the server's `dedupWindow` it could be stored twice. Keep it at most the
   * server's `dedupWindow`.
   * @default 600000 (the server's default dedupWindow)
   */
  outboxMaxAge?: number;
  /**
   * ms a request waits for its reply before rejecting with REQUEST_TIMEOUT (0 or Infinity: forever).
   * @default 30000
   */
  requestTimeout?: number;
  /**
   * Whether the constructor calls `connect()`.
   * @default true
   */
  autoConnect?: boolean;
  /**
   * Source of time for every timer of the client (tests pass a fake clock).
   * @default systemClock
   */
  clock?: Clock;
  /**
   * Source of randomness for the reconnect jitter, in [0, 1).
   * @default Math.random
   */
  random?: () => number;
  /**
   * Connectivity hints of the host.
   * @default detectEnvironment(): navigator.onLine, the window 'online' event and the document
   * 'visibilitychange' event where present; always online without events otherwise (Node)
   */
  environment?: ClientEnvironment;
}

/** The documented defaults, in one place. */
export const DEFAULTS = {
  reconnect: { initialDelay: 1000, maxDelay: 30_000, maxAttempts: Infinity, maxElapsed: Infinity, resetAfter: 5000 },
  heartbeatGrace: 10_000,
  connectTimeout: 10_000,
  ackDelay: PROTOCOL_DEFAULTS.ackDelay,
  ackBatch: PROTOCOL_DEFAULTS.ackBatch,
  outboxLimit: 10_000,
  outboxMaxAge: PROTOCOL_DEFAULTS.dedupWindow,
  requestTimeout: 30_000,
  autoConnect: true,
} as const;

export interface ResolvedOptions {
  url: () => string | Promise<string>;
  auth: () => unknown;
  WebSocket: WebSocketConstructor;
  reconnect: BackoffOptions;
  heartbeatGrace: number;
  connectTimeout: number;
  ackDelay: number;
  ackBatch: number;
  outboxLimit: number;
  outboxStorage: OutboxStorage | undefined;
  outboxMaxAge: number;
  requestTimeout: number;
  autoConnect: boolean;
  clock: Clock;
  random: () => number;
  environment: ClientEnvironment;
}

export function resolveOptions(options: ClientOptions): ResolvedOptions {
  const { url, auth } = options;
  const WebSocket = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (WebSocket === undefined) {
    throw new TypeError('holdfast: no global WebSocket; pass one in options.WebSocket (in Node: `ws`)');
  }
  return {
    url: typeof url === 'function' ? url : () => url,
    auth: typeof auth === 'function' ? (auth as () => unknown) : () => auth,
    WebSocket,
    reconnect: { ...DEFAULTS.reconnect, ...definedOnly(options.reconnect ?? {}) },
    heartbeatGrace: options.heartbeatGrace ?? DEFAULTS.heartbeatGrace,
    connectTimeout: options.connectTimeout ?? DEFAULTS.connectTimeout,
    ackDelay: options.ackDelay ?? DEFAULTS.ackDelay,
    ackBatch: Math.max(1, options.ackBatch ?? DEFAULTS.ackBatch),
    outboxLimit: options.outboxLimit ?? DEFAULTS.outboxLimit,
    outboxStorage: options.outboxStorage,
    outboxMaxAge: options.outboxMaxAge ?? DEFAULTS.outboxMaxAge,
    requestTimeout: options.requestTimeout ?? DEFAULTS.requestTimeout,
    autoConnect: options.autoConnect ?? DEFAULTS.autoConnect,
    clock: options.clock ?? systemClock,
    random: options.random ?? Math.random,
    environment: options.environment ?? detectEnvironment(),
  };
}

// `{ maxDelay: undefined }` must not override the default with undefined.
function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
