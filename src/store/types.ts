/**
 * The Store contract: topic streams, compacted streams, volatile fan-out, sessions and
 * de-duplication ids. Asynchronous and batch-friendly from the start, because a store may sit
 * across a network (Redis). Every implementation passes the conformance suite in
 * `test/store/conformance.ts` unchanged.
 *
 * Ordering promise: calls to `append` are applied in the order they were made, and offsets of one
 * topic are dense (reliable) or increasing (compacted) in that order.
 */

export interface StoredMessage {
  topic: string;
  /** Dense per topic, starting at 1. */
  offset: number;
  data: unknown;
  key?: string;
  /** ms since the epoch, when the message was appended (used by age retention). */
  time: number;
}

export interface AppendEntry {
  topic: string;
  data: unknown;
  key?: string;
  /**
   * Compacted stream (`latest` mode): earlier messages of this topic with the same `key` are
   * removed when this one is appended. `key` defaults to "".
   */
  compact?: boolean;
  /**
   * Idempotency key: an append whose `dedupKey` was already appended within `dedupTtlMs` is not
   * appended again; the outcome reports the original offset with `duplicate: true`.
   */
  dedupKey?: string;
  /** How long the dedupKey is remembered, in ms. */
  dedupTtlMs?: number;
  /** Append time in ms; the server passes its clock's time. */
  time: number;
}

export interface AppendOutcome {
  offset: number;
  epoch: string;
  duplicate: boolean;
}

export interface StreamInfo {
  /** Names this history of the topic; changes when the history was lost. */
  epoch: string;
  /** Offset of the newest message; 0 when nothing was ever appended. */
  head: number;
  /** Offset of the oldest retained message; head + 1 when none is retained. */
  first: number;
}

export interface ReadResult extends StreamInfo {
  /** Retained messages with offset greater than the requested one, ascending. */
  messages: StoredMessage[];
}

export interface RetentionPolicy {
  /** Keep at most this many messages. */
  maxCount?: number;
  /** Remove messages older than this many ms. */
  maxAgeMs?: number;
}

/** A message of a volatile topic: fanned out to subscribers, never stored. */
export interface VolatileMessage {
  topic: string;
  data: unknown;
  key?: string;
}

/**
 * Notification of new messages, for every server node attached to the store: appended messages
 * (with offsets) or volatile ones (without). A node learns of messages appended by other nodes
 * through this same path.
 */
export type StoreEvent =
  | { kind: 'appended'; topic: string; epoch: string; messages: StoredMessage[] }
  | { kind: 'volatile'; message: VolatileMessage };

export type StoreListener = (event: StoreEvent) => void;

/** A reply kept until the client confirms it (see PROTOCOL.md, `reply`). */
export interface KeptReply {
  seq: number;
  /** The request's id, when it was a request (so a resend into a new session finds the reply). */
  id?: string;
  ok: boolean;
  data?: unknown;
  error?: { code: string; message: string };
}

/** What survives of a session between connections. Plain JSON. */
export interface SessionRecord {
  id: string;
  /** The authenticated identity the session is bound to; null for anonymous. */
  identity: string | null;
  /** SHA-256 of the current resume token (hex); the token itself is never stored. */
  tokenHash: string;
  /** When the session expires, in ms since the epoch; null while a connection holds it. */
  expiresAt: number | null;
  /** Highest client seq such that every seq up to it was processed. */
  lastSeq: number;
  /** Processed seqs above lastSeq (requests may finish out of order). */
  doneAbove: number[];
  /** Replies not yet confirmed by the client. */
  replies: KeptReply[];
  /** Per topic, the highest offset the client acknowledged, with its epoch. */
  cursors: Record<string, { epoch: string; offset: number }>;
}

export interface Store {
  /** Appends many messages, possibly to many topics, in order; returns one outcome per entry. */
  append(entries: AppendEntry[]): Promise<AppendOutcome[]>;
  /**
   * Up to `limit` retained messages with offset > `afterOffset`, ascending, with the stream's info.
   * With `maxBytes`, stops after the message that takes the data read past it (at least one
   * message), so a catch-up does not materialise `limit` large messages at once; a store whose
   * messages are in memory already may ignore it.
   */
  read(topic: string, afterOffset: number, limit: number, maxBytes?: number): Promise<ReadResult>;
  info(topic: string): Promise<StreamInfo>;
  /** Applies a retention policy to one topic; returns how many messages were removed. */
  trim(topic: string, policy: RetentionPolicy, now: number): Promise<number>;
  /** Fans a volatile message out to every listener (every node); stores nothing. */
  broadcast(message: VolatileMessage): Promise<void>;
  /** Registers a listener for appended and volatile messages; returns its removal. */
  listen(listener: StoreListener): () => void;

  /**
   * Claims idempotency keys for `ttlMs`: true for a key claimed now, false for one already
   * claimed and not yet expired.
   */
  claimIds(keys: string[], ttlMs: number, now: number): Promise<boolean[]>;

  saveSessions(records: SessionRecord[]): Promise<void>;
  loadSession(id: string): Promise<SessionRecord | undefined>;
  deleteSession(id: string): Promise<void>;
  /** Removes sessions whose expiresAt passed and expired idempotency keys; returns the counts. */
  sweep(now: number): Promise<{ sessions: number; ids: number }>;

  close(): Promise<void>;
}
