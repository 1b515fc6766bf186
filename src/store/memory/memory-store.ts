import { ErrorCode } from '../../protocol/codes.js';
import { HoldfastError } from '../../protocol/errors.js';
import { EventFanout } from '../event-fanout.js';
import { refusal } from '../refusal.js';
import type {
  AppendEntry,
  AppendRefusal,
  AppendResult,
  ReadResult,
  RetentionPolicy,
  SessionRecord,
  SessionUpdate,
  Store,
  StoreListener,
  StoredMessage,
  StreamInfo,
  TrimResult,
  VolatileMessage,
} from '../types.js';
import { DedupIndex } from './dedup-index.js';
import { SessionMap } from './session-map.js';
import { TopicLog } from './topic-log.js';

export interface MemoryStoreOptions {
  /**
   * Epoch of every topic of this store (until a topic is forgotten, see `trim`). Random by
   * default: nothing survives the process, so a new instance is a new history.
   */
  epoch?: string;
  /** Receives what a listener threw; the store carries on. @default console.error */
  onListenerError?: (error: unknown) => void;
  /**
   * Most de-duplication keys (and, separately, claimed ids) kept at once; past it the oldest are
   * forgotten before their TTL. Bounds memory under sustained load: each key costs about 200 bytes,
   * and 10 minutes at 35,000 messages/s would otherwise be 21 million keys.
   * @default 1000000
   */
  maxDedupKeys?: number;
  /**
   * Most topics the store holds (a topic exists from its first append until it is trimmed to
   * nothing); an append that would create one more is refused with TOO_MANY_TOPICS.
   * @default 100000
   */
  maxTopics?: number;
  /**
   * Most bytes of message data the store retains (each message counted as its entry's `size`, or
   * else the UTF-8 length of its JSON); an append past it is refused with STORE_FULL. Trimming and
   * compaction give bytes back. Per-message overhead (about 150 bytes) is not counted.
   * @default 268435456 (256 MiB)
   */
  maxBytes?: number;
}

/** Used when an entry has a `dedupKey` but no `dedupTtlMs`: the protocol's de-duplication window. */
export const DEFAULT_DEDUP_TTL_MS = 10 * 60 * 1000;

/**
 * The in-memory Store: fastest, and nothing survives the process. Stored messages are frozen and
 * shared with readers and listeners; their `data` is kept by reference (not copied), so callers must
 * not mutate data after appending it. Sessions are copied in and out.
 */
export class MemoryStore implements Store {
  readonly epoch: string;
  private readonly topics = new Map<string, TopicLog>();
  /** dedupKey → the offset it was appended at, until it expires. Global across topics. */
  private readonly dedup = new DedupIndex();
  /** Claimed id → expiresAt. */
  // Claimed ids share the dedup index's structure (the offset is unused): a Map evicted from the
  // front makes `keys().next()` walk every deleted slot, which cost a volatile publisher 95 % of
  // its throughput once a million ids were held.
  private readonly claims = new DedupIndex();
  private readonly sessions = new SessionMap();
  private readonly events: EventFanout;
  private readonly maxDedupKeys: number;
  private readonly maxTopics: number;
  private readonly maxBytes: number;
  /** Sum of the topics' retained bytes (TopicLog.bytes). */
  private bytes = 0;
  /** How many topics were forgotten: each one moves the epoch of new topics on. */
  private forgotten = 0;
  private closed = false;

  constructor(options: MemoryStoreOptions = {}) {
    this.epoch = options.epoch ?? globalThis.crypto.randomUUID();
    this.maxDedupKeys = options.maxDedupKeys ?? 1_000_000;
    this.maxTopics = options.maxTopics ?? 100_000;
    this.maxBytes = options.maxBytes ?? 256 * 1024 * 1024;
    this.events = new EventFanout(options.onListenerError);
  }

  /** Bytes of message data retained, as counted against `maxBytes`. */
  get retainedBytes(): number {
    return this.bytes;
  }

  async append(entries: AppendEntry[]): Promise<AppendResult[]> {
    this.ensureOpen();
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
    for (const [topic, messages] of appended) this.events.emit({ kind: 'appended', topic, epoch: this.topics.get(topic)!.epoch, messages });
    return results;
  }

  async read(topic: string, afterOffset: number, limit: number, maxBytes?: number): Promise<ReadResult> {
    this.ensureOpen();
    const log = this.topics.get(topic);
    if (log === undefined) return { epoch: this.nextEpoch(), head: 0, first: 1, messages: [] };
    const messages = limit > 0 ? log.read(afterOffset, limit, maxBytes) : [];
    return { epoch: log.epoch, head: log.head, first: log.first, messages };
  }

  async info(topic: string): Promise<StreamInfo> {
    this.ensureOpen();
    const log = this.topics.get(topic);
    if (log === undefined) return { epoch: this.nextEpoch(), head: 0, first: 1 };
    return { epoch: log.epoch, head: log.head, first: log.first };
  }

  async trim(topic: string, policy: RetentionPolicy, now: number): Promise<TrimResult> {
    this.ensureOpen();
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

  /**
   * The epoch a topic gets when it is created: the store's own until a topic is forgotten, then a
   * new one per forgetting, so a forgotten topic's next history never shares the epoch of its last.
   */
  private nextEpoch(): string {
    return this.forgotten === 0 ? this.epoch : `${this.epoch}.${this.forgotten}`;
  }

  async broadcast(message: VolatileMessage): Promise<void> {
    this.ensureOpen();
    this.events.emit({ kind: 'volatile', message });
  }

  listen(listener: StoreListener): () => void {
    this.ensureOpen();
    return this.events.add(listener);
  }

  async claimIds(keys: string[], ttlMs: number, now: number): Promise<boolean[]> {
    this.ensureOpen();
    return keys.map((key) => {
      if (this.claims.find(key, now) !== undefined) return false;
      this.claims.add(key, 0, now + ttlMs, this.maxDedupKeys);
      return true;
    });
  }

  async saveSessions(updates: SessionUpdate[]): Promise<void> {
    this.ensureOpen();
    this.sessions.save(updates);
  }

  async loadSession(id: string): Promise<SessionRecord | undefined> {
    this.ensureOpen();
    return this.sessions.load(id);
  }

  async deleteSession(id: string): Promise<void> {
    this.ensureOpen();
    this.sessions.delete(id);
  }

  async sweep(now: number): Promise<{ sessions: number; ids: number }> {
    this.ensureOpen();
    const sessions = this.sessions.sweep(now);
    // `ids` counts both kinds of idempotency key: claimed ids and append dedupKeys.
    const ids = this.claims.sweep(now) + this.dedup.sweep(now);
    return { sessions, ids };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.events.clear();
    this.topics.clear();
    this.bytes = 0;
    this.dedup.clear();
    this.claims.clear();
    this.sessions.clear();
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

  private ensureOpen(): void {
    if (this.closed) throw new HoldfastError(ErrorCode.StoreUnavailable, 'the memory store is closed');
  }
}
