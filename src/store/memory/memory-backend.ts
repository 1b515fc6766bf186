import { ErrorCode } from '../../protocol/codes.js';
import { PROTOCOL_DEFAULTS } from '../../protocol/defaults.js';
import { HoldfastError } from '../../protocol/errors.js';
import { refusal } from '../refusal.js';
import type {
  AppendEntry,
  AppendRefusal,
  AppendResult,
  ReadResult,
  RequestClaim,
  RequestOutcome,
  RetentionPolicy,
  SessionRecord,
  SessionState,
  SessionTakeover,
  SessionUpdate,
  StoredMessage,
  StreamInfo,
  TrimResult,
  VolatileMessage,
} from '../types.js';
import { DedupIndex } from './dedup-index.js';
import { Attachment, EventRouter } from './event-router.js';
import { RequestTable } from './request-table.js';
import { SessionMap } from './session-map.js';
import { TopicLog } from './topic-log.js';

export interface MemoryBackendOptions {
  /**
   * Epoch of every topic of this backend (until a topic is forgotten, see `trim`). Random by
   * default: nothing survives the process, so a new backend is a new history.
   */
  epoch?: string;
  /**
   * Most de-duplication keys (and, separately, claimed ids, and request ids) kept at once; past it
   * the oldest are forgotten before their TTL. Bounds memory under sustained load: each key costs
   * about 200 bytes, and 10 minutes at 35,000 messages/s would otherwise be 21 million keys.
   * @default 1000000
   */
  maxDedupKeys?: number;
  /**
   * Most topics the backend holds (a topic exists from its first append until it is trimmed to
   * nothing); an append that would create one more is refused with TOO_MANY_TOPICS.
   * @default 100000
   */
  maxTopics?: number;
  /**
   * Most bytes of message data the backend retains (each message counted as its entry's `size`, or
   * else the UTF-8 length of its JSON); an append past it is refused with STORE_FULL. Trimming and
   * compaction give bytes back. Per-message overhead (about 150 bytes) is not counted.
   * @default 268435456 (256 MiB)
   */
  maxBytes?: number;
}

/** Used when an entry has a `dedupKey` but no `dedupTtlMs`: the protocol's de-duplication window. */
export const DEFAULT_DEDUP_TTL_MS = PROTOCOL_DEFAULTS.dedupWindow;

/**
 * What the memory store holds, shared by the MemoryStore instances attached to it: topic logs,
 * de-duplication and claimed ids, request runs and sessions. Several instances on one backend are
 * several server nodes on one shared store (as on Redis), in one process: for tests of many nodes,
 * and for several hubs in one process. Each instance hears the events of the topics it watches.
 *
 * The methods below are the instances' (MemoryStore calls them after checking it is open and the
 * backend available); a test uses `setAvailable` to play an outage.
 */
export class MemoryBackend {
  readonly epoch: string;
  /** @internal The instances attached, and the order they hear events in. */
  readonly router = new EventRouter();
  private readonly topics = new Map<string, TopicLog>();
  /** dedupKey → the offset it was appended at, until it expires. Global across topics. */
  private readonly dedup = new DedupIndex();
  /** Claimed id → expiresAt. */
  // Claimed ids share the dedup index's structure (the offset is unused): a Map evicted from the
  // front makes `keys().next()` walk every deleted slot, which cost a volatile publisher 95 % of
  // its throughput once a million ids were held.
  private readonly claims = new DedupIndex();
  private readonly requests: RequestTable;
  private readonly sessions = new SessionMap();
  private readonly maxDedupKeys: number;
  private readonly maxTopics: number;
  private readonly maxBytes: number;
  /** Sum of the topics' retained bytes (TopicLog.bytes). */
  private bytes = 0;
  /** How many topics were forgotten: each one moves the epoch of new topics on. */
  private forgotten = 0;
  private available = true;

  constructor(options: MemoryBackendOptions = {}) {
    this.epoch = options.epoch ?? globalThis.crypto.randomUUID();
    this.maxDedupKeys = options.maxDedupKeys ?? 1_000_000;
    this.maxTopics = options.maxTopics ?? 100_000;
    this.maxBytes = options.maxBytes ?? 256 * 1024 * 1024;
    this.requests = new RequestTable(this.maxDedupKeys);
  }

  /** Bytes of message data retained, as counted against `maxBytes`. */
  get retainedBytes(): number {
    return this.bytes;
  }

  /** How many MemoryStore instances are attached (open). */
  get instances(): number {
    return this.router.attachments.size;
  }

  /** Whether operations work; see `setAvailable`. */
  get isAvailable(): boolean {
    return this.available;
  }

  /**
   * Plays an outage of the shared store: while unavailable, every operation of every instance
   * rejects with STORE_UNAVAILABLE. Each change sends every instance a `health` event (`lost`,
   * then `back`); setting the current state again does nothing.
   */
  setAvailable(available: boolean): void {
    if (available === this.available) return;
    this.available = available;
    this.router.emit({ kind: 'health', state: available ? 'back' : 'lost' });
  }

  /** Forgets everything held (topics, ids, request runs, sessions); attached instances stay attached. */
  clear(): void {
    this.topics.clear();
    this.bytes = 0;
    this.dedup.clear();
    this.claims.clear();
    this.requests.clear();
    this.sessions.clear();
  }

  /** @internal Throws STORE_UNAVAILABLE during an outage. */
  ensureAvailable(): void {
    if (!this.available) throw new HoldfastError(ErrorCode.StoreUnavailable, 'the memory store backend is unavailable');
  }

  append(entries: AppendEntry[]): AppendResult[] {
    const results: AppendResult[] = [];
    const appended = new Map<string, StoredMessage[]>();
    for (const entry of entries) {
      const seen = entry.dedupKey === undefined ? undefined : this.dedup.find(entry.dedupKey, entry.time);
      if (seen !== undefined) {
        results.push({ offset: seen, epoch: this.topics.get(entry.topic)?.epoch ?? this.nextEpoch(), duplicate: true });
        continue;
      }
      const result = this.appendOne(entry);
      if ('refused' in result) {
        results.push(result);
        continue;
      }
      const { message, log } = result;
      if (entry.dedupKey !== undefined) {
        const ttl = entry.dedupTtlMs ?? DEFAULT_DEDUP_TTL_MS;
        this.dedup.add(entry.dedupKey, message.offset, entry.time + ttl, this.maxDedupKeys);
      }
      results.push({ offset: message.offset, epoch: log.epoch, duplicate: false });
      const group = appended.get(entry.topic);
      if (group === undefined) appended.set(entry.topic, [message]);
      else group.push(message);
    }
    for (const [topic, messages] of appended) this.router.emit({ kind: 'appended', topic, epoch: this.topics.get(topic)!.epoch, messages });
    return results;
  }

  read(topic: string, afterOffset: number, limit: number, maxBytes?: number): ReadResult {
    const log = this.topics.get(topic);
    if (log === undefined) return { epoch: this.nextEpoch(), head: 0, first: 1, messages: [] };
    const messages = limit > 0 ? log.read(afterOffset, limit, maxBytes) : [];
    return { epoch: log.epoch, head: log.head, first: log.first, messages };
  }

  info(topic: string): StreamInfo {
    const log = this.topics.get(topic);
    if (log === undefined) return { epoch: this.nextEpoch(), head: 0, first: 1 };
    return { epoch: log.epoch, head: log.head, first: log.first };
  }

  trim(topic: string, policy: RetentionPolicy, now: number): TrimResult {
    const log = this.topics.get(topic);
    if (log === undefined) return { removed: 0 };
    const before = log.bytes;
    const removed = log.trim(policy, now);
    this.bytes -= before - log.bytes;
    const oldest = log.oldest;
    if (oldest !== undefined) return { removed, oldest };
    // Nothing retained: forget the topic. Its next message starts a new history in a new epoch.
    this.topics.delete(topic);
    this.forgotten++;
    return { removed };
  }

  broadcast(message: VolatileMessage): void {
    this.router.emit({ kind: 'volatile', message });
  }

  claimIds(keys: string[], ttlMs: number, now: number): boolean[] {
    return keys.map((key) => {
      if (this.claims.find(key, now) !== undefined) return false;
      this.claims.add(key, 0, now + ttlMs, this.maxDedupKeys);
      return true;
    });
  }

  claimRequest(key: string, now: number, leaseMs: number, ttlMs: number, claimer: Attachment): RequestClaim {
    return this.requests.claim(key, now, leaseMs, ttlMs, claimer);
  }

  renewRequests(keys: string[], now: number, leaseMs: number): void {
    this.requests.renew(keys, now, leaseMs);
  }

  completeRequest(key: string, outcome: RequestOutcome, now: number, ttlMs: number): void {
    const done = this.requests.complete(key, outcome, now, ttlMs);
    if (done.waiters !== undefined) this.router.emit({ kind: 'request', key, outcome: done.outcome }, done.waiters);
  }

  confirmRequests(keys: string[]): void {
    this.requests.confirm(keys);
  }

  createSession(state: SessionState, holder: Attachment): boolean {
    return this.sessions.create(state, holder);
  }

  takeSession(id: string, version: number, change: SessionTakeover, taker: Attachment): number | undefined {
    const taken = this.sessions.take(id, version, change, taker);
    if (taken === undefined) return undefined;
    if (taken.previous !== taker) this.router.emit({ kind: 'session', id, version: taken.version }, taken.previous);
    return taken.version;
  }

  saveSessions(updates: SessionUpdate[]): boolean[] {
    return this.sessions.save(updates);
  }

  loadSession(id: string): SessionRecord | undefined {
    return this.sessions.load(id);
  }

  deleteSession(id: string, version: number): void {
    this.sessions.delete(id, version);
  }

  sweep(now: number): { sessions: number; ids: number } {
    const sessions = this.sessions.sweep(now);
    // `ids` counts every kind of id: claimed ids, append dedupKeys and request ids.
    const ids = this.claims.sweep(now) + this.dedup.sweep(now) + this.requests.sweep(now);
    return { sessions, ids };
  }

  /**
   * The epoch a topic gets when it is created: the backend's own until a topic is forgotten, then a
   * new one per forgetting, so a forgotten topic's next history never shares the epoch of its last.
   */
  private nextEpoch(): string {
    return this.forgotten === 0 ? this.epoch : `${this.epoch}.${this.forgotten}`;
  }

  /** Appends one entry, or says why not (then nothing changed). */
  private appendOne(entry: AppendEntry): { message: StoredMessage; log: TopicLog } | AppendRefusal {
    let log = this.topics.get(entry.topic);
    if (log === undefined) {
      if (entry.create === false) return refusal(ErrorCode.TooManyTopics, `the topic ${entry.topic} does not exist, and this append may not create it`);
      if (this.topics.size >= this.maxTopics) return refusal(ErrorCode.TooManyTopics, `the store holds its most topics (maxTopics ${this.maxTopics})`);
    }
    const compact = entry.compact === true;
    const key = compact ? (entry.key ?? '') : entry.key;
    const replaced = compact ? log?.sizeOfKey(key!) : undefined;
    if (compact && replaced === undefined && entry.maxKeys !== undefined && (log?.keyCount ?? 0) >= entry.maxKeys) {
      return refusal(ErrorCode.TooManyKeys, `the topic ${entry.topic} holds its most keys (${entry.maxKeys})`);
    }
    const size = entry.size ?? Buffer.byteLength(JSON.stringify(entry.data ?? null));
    if (this.bytes - (replaced ?? 0) + size > this.maxBytes) {
      return refusal(ErrorCode.StoreFull, `the memory store holds its most message bytes (maxBytes ${this.maxBytes})`);
    }
    if (log === undefined) this.topics.set(entry.topic, (log = new TopicLog(this.nextEpoch())));
    // Frozen because readers and listeners share the object; `key` is absent rather than undefined.
    const offset = log.head + 1;
    const message: StoredMessage = Object.freeze(
      key === undefined
        ? { topic: entry.topic, offset, data: entry.data, time: entry.time }
        : { topic: entry.topic, offset, data: entry.data, key, time: entry.time },
    );
    const before = log.bytes;
    log.push(message, compact, size);
    this.bytes += log.bytes - before;
    return { message, log };
  }
}
