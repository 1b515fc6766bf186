import type { IncomingMessage } from 'node:http';
import { PROTOCOL_DEFAULTS, type Clock, type TopicMode } from '../protocol/index.js';
import type { RetentionPolicy, Store } from '../store/types.js';
import type { HubObserver } from './observer.js';

export type { HubObserver } from './observer.js';

/** Who a connection belongs to, as the `authenticate` hook decided. */
export interface Identity {
  id: string;
  [detail: string]: unknown;
}

export interface AuthenticateContext {
  /** `hello.auth` as the client sent it. */
  auth: unknown;
  /** The HTTP upgrade request (cookies, headers); absent when the hub is driven without HTTP. */
  request: IncomingMessage | undefined;
  remoteAddress: string | undefined;
}

/** Return an identity (or its id) to accept, `null`/`false` or throw to refuse (close 4401). */
export type Authenticate = (
  context: AuthenticateContext,
) => Identity | string | null | false | Promise<Identity | string | null | false>;

export interface AuthorizeContext {
  identity: Identity | null;
  topic: string;
  action: 'subscribe' | 'publish';
  session: string;
}

export type Authorize = (context: AuthorizeContext) => boolean | Promise<boolean>;

export interface HandlerContext {
  identity: Identity | null;
  session: string;
  method: string;
}

/** Handles a `req`; its return value is the reply. Throw a HoldfastError to choose the error code. */
export type RequestHandler = (data: unknown, context: HandlerContext) => unknown;

export interface SnapshotContext {
  identity: Identity | null;
  session: string;
}

export interface TopicOptions {
  /** @default 'reliable' */
  mode: TopicMode;
  /** Retention of `reliable` topics. @default { maxCount: 10000, maxAgeMs: 86400000 } */
  retention?: RetentionPolicy;
  /**
   * `latest` topics: the most keys the topic holds. A publish with a new key beyond it is refused
   * with TOO_MANY_KEYS; a new value for a key already held is always accepted.
   * @default 10000
   */
  maxKeys?: number;
  /**
   * The current state of the topic, sent when a subscriber's position can no longer be recovered
   * (PROTOCOL.md, Recovery). Without it the subscriber gets every message still retained.
   */
  snapshot?: (topic: string, context: SnapshotContext) => unknown;
}

/** Topic settings by exact name or by a prefix pattern ending in `*`, or a function. */
export type TopicTable = Record<string, TopicOptions> | ((topic: string) => TopicOptions | undefined);

export interface ServerLimitsOptions {
  /** Largest `data`, in UTF-8 bytes of its JSON. @default 1048576 */
  maxPayload?: number;
  /** How deeply `data` may nest arrays and objects; deeper is refused with INVALID_PAYLOAD. @default 64 */
  maxDepth?: number;
  /** @default 100 */
  maxSubscriptions?: number;
  /** Messages sent and not yet acknowledged per subscription before pushing pauses. @default 1000 */
  maxInFlight?: number;
  /**
   * Send-buffer size above which pushing pauses, volatile messages are dropped and the server stops
   * reading the connection until the buffer drains. A frame that would take the buffer past
   * `maxBufferedBytes + maxPayload + 64 KiB` is not written: the connection is closed with 4413
   * SLOW_CONSUMER (the client resumes; nothing is lost). @default 1048576
   */
  maxBufferedBytes?: number;
  /**
   * How long, in ms, a send buffer may stay over `maxBufferedBytes` before the connection is closed
   * with 4413 SLOW_CONSUMER; checked by the sweeper, so it holds to within one `sweepInterval`.
   * @default 30000
   */
  slowConsumerGrace?: number;
  /** Frames per second per connection; beyond it reading is paused. @default { perSecond: 10000, burst: 20000 } */
  messageRate?: { perSecond: number; burst: number };
  /** Open connections per remote address. @default Infinity */
  maxConnectionsPerAddress?: number;
  /**
   * Replies kept per session until the client confirms them; at the limit the server stops reading
   * the connection until confirmations arrive. Keep it at least the clients' outboxLimit.
   * @default 10000
   */
  maxKeptReplies?: number;
  /**
   * Bytes of reply data (the UTF-8 JSON of `data`, or of the error) kept per session until the client
   * confirms them; at the limit reading stops as for `maxKeptReplies`. @default 4194304
   */
  maxKeptReplyBytes?: number;
  /**
   * How far a reliable frame's seq may run ahead of the last processed one (a client numbering
   * from 1 stays within its outbox size); further is a protocol violation. @default 20000
   */
  maxSeqAhead?: number;
  /**
   * Sessions held in memory at once (connected, or waiting `sessionTtl` for a resume). A new
   * session beyond it is refused with TOO_MANY_SESSIONS (close 4503, retry after 10 s); resumes are
   * not. Bounds what a client that connects in a loop can make the server keep. @default 100000
   */
  maxSessions?: number;
  /**
   * Topics a connection may create, per second with a burst (a token bucket): a publish to a topic
   * that holds nothing (new, or forgotten after its messages aged out) takes a token, and without
   * one is refused with TOO_MANY_TOPICS. Publishes to existing topics are not counted. The
   * server-wide cap is the store's (`maxTopics`). @default { perSecond: 10, burst: 100 }
   */
  topicCreation?: { perSecond: number; burst: number };
}

export interface HubOptions {
  /**
   * Where streams, sessions and de-duplication ids live. Required by the Hub, which imports no
   * store implementation; HoldfastServer makes a MemoryStore when none is given.
   */
  store: Store;
  /** Topic modes and retention. @default every topic `reliable` with default retention */
  topics?: TopicTable;
  authenticate?: Authenticate;
  /** @default every action allowed */
  authorize?: Authorize;
  /** Cache `authorize` answers per connection, topic and action. @default true */
  cacheAuthorization?: boolean;
  /** Request handlers by method name. */
  handlers?: Record<string, RequestHandler>;
  /** @default { interval: 25000, timeout: 20000 } */
  heartbeat?: { interval?: number; timeout?: number };
  /**
   * How long a session outlives its connection, in ms. A held session is stored with a lease of
   * this long, renewed when half used, so a crashed server's sessions still expire. @default 120000
   */
  sessionTtl?: number;
  /** How long message ids are remembered for de-duplication, in ms. @default 600000 */
  dedupWindow?: number;
  /** ms within which `hello` must arrive. @default 10000 */
  helloTimeout?: number;
  /** Ack batching. @default 50 ms / 100 frames */
  ackDelay?: number;
  ackBatch?: number;
  /** How often the one sweeper checks heartbeats, sessions and retention, in ms. @default 1000 */
  sweepInterval?: number;
  limits?: ServerLimitsOptions;
  clock?: Clock;
  /** Called with errors the server recovered from (a failing hook, a store error). @default console.error */
  onError?: (error: unknown) => void;
  /** Told of connections, messages and timeouts as they happen, for metrics (see HubObserver). */
  observer?: HubObserver;
}

export interface ResolvedLimits {
  maxPayload: number;
  maxDepth: number;
  maxSubscriptions: number;
  maxInFlight: number;
  maxBufferedBytes: number;
  slowConsumerGrace: number;
  messageRate: { perSecond: number; burst: number };
  maxConnectionsPerAddress: number;
  maxKeptReplies: number;
  maxKeptReplyBytes: number;
  maxSeqAhead: number;
  maxSessions: number;
  topicCreation: { perSecond: number; burst: number };
}

export const DEFAULT_RETENTION: Required<RetentionPolicy> = { maxCount: 10_000, maxAgeMs: 24 * 60 * 60 * 1000 };

export const DEFAULT_LIMITS: ResolvedLimits = {
  maxPayload: PROTOCOL_DEFAULTS.maxPayload,
  maxDepth: PROTOCOL_DEFAULTS.maxDepth,
  maxSubscriptions: 100,
  maxInFlight: 1000,
  maxBufferedBytes: 1024 * 1024,
  slowConsumerGrace: 30_000,
  messageRate: { perSecond: 10_000, burst: 20_000 },
  maxConnectionsPerAddress: Infinity,
  maxKeptReplies: 10_000,
  maxKeptReplyBytes: 4 * 1024 * 1024,
  maxSeqAhead: 20_000,
  maxSessions: 100_000,
  topicCreation: { perSecond: 10, burst: 100 },
};

/** Keys a `latest` topic holds at most, unless its TopicOptions say otherwise. */
export const DEFAULT_MAX_KEYS = 10_000;

export const DEFAULTS = {
  heartbeat: PROTOCOL_DEFAULTS.heartbeat,
  sessionTtl: 120_000,
  dedupWindow: PROTOCOL_DEFAULTS.dedupWindow,
  helloTimeout: 10_000,
  ackDelay: PROTOCOL_DEFAULTS.ackDelay,
  ackBatch: PROTOCOL_DEFAULTS.ackBatch,
  sweepInterval: 1000,
};
