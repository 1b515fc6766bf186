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
 * Notifications, for every server node attached to the store. They may arrive late or twice, and
 * a store that lost its link to its backend may have missed some (it says so with `health`): a
 * listener never trusts them for completeness. The hub checks every appended batch against the
 * offsets it saw, reads the store on a gap, and reads again after `health: back`.
 *
 * - `appended` / `volatile`: new messages of a topic this instance watches (see `watch`); a store
 *   may deliver events of topics it was not asked to watch too. A node learns of messages appended
 *   by other nodes through this same path.
 * - `session`: a session this instance held was taken over (`takeSession`) by another instance; it
 *   is now at `version`. Delivered to the instance that held the version before.
 * - `request`: a request run finished (`completeRequest`) with this outcome. Delivered at least to
 *   every instance whose `claimRequest` of that key answered `running`.
 * - `health`: the store lost its backend (`lost`: operations fail, notifications may be missed)
 *   or has it again (`back`). A store that cannot lose its backend never sends it.
 */
export type StoreEvent =
  | { kind: 'appended'; topic: string; epoch: string; messages: StoredMessage[] }
  | { kind: 'volatile'; message: VolatileMessage }
  | { kind: 'session'; id: string; version: number }
  | { kind: 'request'; key: string; outcome: RequestOutcome }
  | { kind: 'health'; state: 'lost' | 'back' };

export type StoreListener = (event: StoreEvent) => void;

/** What a request (or a refused publish) came to: the body of its `reply`. */
export interface RequestOutcome {
  ok: boolean;
  data?: unknown;
  error?: { code: string; message: string };
}

/** A reply kept until the client confirms it (see PROTOCOL.md, `reply`). */
export interface KeptReply extends RequestOutcome {
  seq: number;
  /** The request's id, when it was a request (so a resend into a new session finds the reply). */
  id?: string;
}

/**
 * What `claimRequest` found for a request id (identity-scoped, see the hub's dedupKey):
 * - `new`: nobody ran it; it is claimed now, and this caller runs it.
 * - `running`: a run is in progress (on any node); its outcome comes as a `request` event, or from
 *   a later `claimRequest`.
 * - `done`: it ran; here is its outcome.
 * - `confirmed`: it ran and the client confirmed the reply, which is forgotten.
 * - `lost`: a run started and its lease ran out with no outcome: the node running it stopped, and
 *   whether the request took effect is unknown.
 */
export type RequestClaim =
  | { state: 'new' }
  | { state: 'running' }
  | { state: 'done'; outcome: RequestOutcome }
  | { state: 'confirmed' }
  | { state: 'lost' };

export interface Cursor {
  epoch: string;
  offset: number;
}

/**
 * What survives of a session between connections, except its kept replies (saved one by one, see
 * SessionUpdate). Plain JSON, and small: bounded by the subscription and seq limits.
 *
 * A session is held by one connection on one node through a lease: the record's `version` names the
 * current holding. A resume (on any node) takes the session over with `takeSession`, which bumps
 * it; every write names the version it was made under and is refused once the record moved on, so
 * a node that lost the session never overwrites its new holder.
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
  /** Starts at 1; every takeover adds 1. */
  version: number;
  /** Highest client seq such that every seq up to it was processed. */
  lastSeq: number;
  /** Processed seqs above lastSeq (requests may finish out of order). */
  doneAbove: number[];
  /** Per topic, the highest offset the client acknowledged, with its epoch. */
  cursors: Record<string, Cursor>;
}

/** A session as loaded: its state and the replies not yet confirmed by the client, by ascending seq. */
export interface SessionRecord extends SessionState {
  replies: KeptReply[];
}

/** The fields a takeover changes besides the version: a new resume token and a new lease. */
export interface SessionTakeover {
  tokenHash: string;
  /** The token the client resumed with, valid beside the new one (see SessionState); absent drops it. */
  previousTokenHash?: string;
  expiresAt: number;
}

/**
 * One session's changes since its last save, and only those: a session keeping thousands of
 * replies or a hundred cursors costs a save in proportion to what changed. Applied only while the
 * stored record is at `version`.
 */
export interface SessionUpdate {
  id: string;
  /** The version the changes were made under. */
  version: number;
  /** A renewed lease, or the expiry of a released session. */
  expiresAt?: number;
  /** The ledger, when it moved: both fields together. */
  ledger?: { lastSeq: number; doneAbove: number[] };
  /** Cursors that changed; null removes one. */
  cursors?: Record<string, Cursor | null>;
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
  /** Fans a volatile message out to the instances watching its topic; stores nothing. */
  broadcast(message: VolatileMessage): Promise<void>;
  /** Registers a listener for this instance's events (see StoreEvent); returns its removal. */
  listen(listener: StoreListener): () => void;
  /**
   * From the time the promise resolves, this instance's listeners hear the `appended` and
   * `volatile` events of `topic`, whichever instance caused them. Not counted: one `unwatch` ends
   * it. A node watches the topics it has subscribers for, and hears nothing of the others.
   */
  watch(topic: string): Promise<void>;
  unwatch(topic: string): void;

  /**
   * Claims idempotency keys for `ttlMs`: true for a key claimed now, false for one already
   * claimed and not yet expired.
   */
  claimIds(keys: string[], ttlMs: number, now: number): Promise<boolean[]>;

  /**
   * Claims a request id to run it, or says what became of the run that claimed it first (see
   * RequestClaim). A new claim is a run in progress for `leaseMs` (renewed by `renewRequests`
   * while it runs); the id is remembered `ttlMs` from now.
   */
  claimRequest(key: string, now: number, leaseMs: number, ttlMs: number): Promise<RequestClaim>;
  /** Runs still in progress on this node: their leases are extended to `now + leaseMs`. */
  renewRequests(keys: string[], now: number, leaseMs: number): Promise<void>;
  /**
   * Records the outcome of a run (whatever happened to its session meanwhile), remembered until
   * `now + ttlMs`, and sends a `request` event to the instances waiting for it.
   */
  completeRequest(key: string, outcome: RequestOutcome, now: number, ttlMs: number): Promise<void>;
  /** The client confirmed these replies: their outcomes are forgotten; the ids stay claimed until their ttl. */
  confirmRequests(keys: string[]): Promise<void>;

  /** Creates a session at version 1 (`state.version` must be 1); false when the id exists already. */
  createSession(state: SessionState): Promise<boolean>;
  /**
   * Takes a session over: when the record is still at `version`, applies `change`, moves it to
   * `version + 1` and returns that, and sends a `session` event to the instance that held it
   * before, if that was another one. Returns undefined when the record moved on or is gone.
   */
  takeSession(id: string, version: number, change: SessionTakeover): Promise<number | undefined>;
  /**
   * Applies the updates of several sessions in one write; returns, per update, whether it applied.
   * An update whose session is no longer at its `version` (taken over, or gone) is refused, and the
   * others apply. Rejects only when the store failed (then none applied).
   */
  saveSessions(updates: SessionUpdate[]): Promise<boolean[]>;
  loadSession(id: string): Promise<SessionRecord | undefined>;
  /** Removes the session, with its kept replies and cursors, if it is still at `version`. */
  deleteSession(id: string, version: number): Promise<void>;
  /**
   * Removes sessions (with their replies) whose expiresAt passed, and expired idempotency keys and
   * request ids; returns the counts (`ids` counts all three kinds of id).
   */
  sweep(now: number): Promise<{ sessions: number; ids: number }>;

  close(): Promise<void>;
}
