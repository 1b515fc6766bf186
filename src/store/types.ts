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
  /**
   * Size of `data` in bytes (UTF-8 of its JSON), when the caller already knows it: a store that
   * bounds its memory counts it instead of encoding `data` again. An estimate is fine.
   */
  size?: number;
  /**
   * Whether this append may create the topic. `false`: an append to a topic that holds nothing
   * (never appended to, or forgotten) is refused with TOO_MANY_TOPICS instead. An append that
   * creates its topic is the one whose outcome has offset 1 (and is not a duplicate).
   * @default true
   */
  create?: boolean;
  /**
   * Compacted streams: the most keys the topic may hold. A message with a new key beyond it is
   * refused with TOO_MANY_KEYS; a new value for an existing key is always accepted.
   */
  maxKeys?: number;
}

export interface AppendOutcome {
  offset: number;
  epoch: string;
  duplicate: boolean;
}

/**
 * An entry the store would not append, and why (`code` is an ErrorCode: TOO_MANY_TOPICS,
 * TOO_MANY_KEYS, STORE_FULL). The other entries of the batch are not affected.
 */
export interface AppendRefusal {
  refused: { code: string; message: string };
}

export type AppendResult = AppendOutcome | AppendRefusal;

export function isRefusal(result: AppendResult): result is AppendRefusal {
  return 'refused' in result;
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

/** What `trim` did. */
export interface TrimResult {
  removed: number;
  /**
   * `time` of the oldest message still retained, so the caller knows when age retention is next
   * due; absent when the topic retains nothing (the store may then forget it, see `trim`).
   */
  oldest?: number;
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

/**
 * What survives of a session between connections, except its kept replies (saved one by one, see
 * SessionUpdate). Plain JSON, and small: bounded by the subscription and seq limits.
 */
export interface SessionState {
  id: string;
  /** The authenticated identity the session is bound to; null for anonymous. */
  identity: string | null;
  /** SHA-256 of the current resume token (hex); the token itself is never stored. */
  tokenHash: string;
  /**
   * SHA-256 of the token the client presented at its last resume: still valid until the client
   * resumes with the current one, so a `welcome` lost with its connection does not lose the session.
   */
  previousTokenHash?: string;
  /**
   * When the session expires, in ms since the epoch. While a connection holds the session this is
   * a lease that the server renews (`sessionTtl` after the last renewal), so a server that dies
   * leaves its sessions expiring on time.
   */
  expiresAt: number;
  /** Highest client seq such that every seq up to it was processed. */
  lastSeq: number;
  /** Processed seqs above lastSeq (requests may finish out of order). */
  doneAbove: number[];
  /** Per topic, the highest offset the client acknowledged, with its epoch. */
  cursors: Record<string, { epoch: string; offset: number }>;
}

/** A session as loaded: its state and the replies not yet confirmed by the client, by ascending seq. */
export interface SessionRecord extends SessionState {
  replies: KeptReply[];
}

/**
 * One session's changes since its last save: the state, written whole (it is small), and the
 * kept replies added and removed, so a session keeping thousands of replies costs a save in
 * proportion to what changed, never the whole record. Saving the first update of a session
 * creates it.
 */
export interface SessionUpdate {
  state: SessionState;
  /** Replies kept from now on (a reply with a seq already kept replaces it). */
  addReplies?: KeptReply[];
  /** seqs of kept replies the client confirmed: removed. Applied after addReplies. */
  removeReplies?: number[];
}

export interface Store {
  /**
   * Appends many messages, possibly to many topics, in order; returns one result per entry: its
   * outcome, or a refusal that leaves the rest of the batch unaffected. Rejects only when the
   * store failed (nothing of the batch is stored then).
   */
  append(entries: AppendEntry[]): Promise<AppendResult[]>;
  /**
   * Up to `limit` retained messages with offset > `afterOffset`, ascending, with the stream's info.
   * With `maxBytes`, reading stops after the message that takes the data read past it (at least
   * one message is returned), so a catch-up of large messages does not materialise them all. Bytes
   * are the store's measure of the data (the SQLite store: the stored JSON's length; the memory
   * store: the entries' sizes); a store that holds its messages in memory may ignore `maxBytes`.
   */
  read(topic: string, afterOffset: number, limit: number, maxBytes?: number): Promise<ReadResult>;
  info(topic: string): Promise<StreamInfo>;
  /**
   * Applies a retention policy to one topic. A topic left retaining nothing is forgotten: it costs
   * the store nothing more, and when it is appended to again its history starts over in a new
   * epoch (offsets from 1), so positions in the old history are never mistaken for the new one.
   */
  trim(topic: string, policy: RetentionPolicy, now: number): Promise<TrimResult>;
  /** Fans a volatile message out to every listener (every node); stores nothing. */
  broadcast(message: VolatileMessage): Promise<void>;
  /** Registers a listener for appended and volatile messages; returns its removal. */
  listen(listener: StoreListener): () => void;

  /**
   * Claims idempotency keys for `ttlMs`: true for a key claimed now, false for one already
   * claimed and not yet expired.
   */
  claimIds(keys: string[], ttlMs: number, now: number): Promise<boolean[]>;

  /** Applies the updates of several sessions, all or none. */
  saveSessions(updates: SessionUpdate[]): Promise<void>;
  loadSession(id: string): Promise<SessionRecord | undefined>;
  deleteSession(id: string): Promise<void>;
  /** Removes sessions (with their replies) whose expiresAt passed and expired idempotency keys; returns the counts. */
  sweep(now: number): Promise<{ sessions: number; ids: number }>;

  close(): Promise<void>;
}
