import Database from 'better-sqlite3';
import { ErrorCode, HoldfastError } from '../../protocol/index.js';
import { EventFanout } from '../event-fanout.js';
import type {
  AppendEntry,
  AppendResult,
  ReadResult,
  RequestClaim,
  RequestOutcome,
  RetentionPolicy,
  SessionRecord,
  SessionState,
  SessionTakeover,
  SessionUpdate,
  Store,
  StoreListener,
  StoredMessage,
  StreamInfo,
  TrimResult,
  VolatileMessage,
} from '../types.js';
import { Checkpointer } from './checkpointer.js';
import { DatabaseLock, lockFileOf } from './database-lock.js';
import { appendEntry, type AppendContext } from './append-entry.js';
import { closedError, message, startError, storeError } from './errors.js';
import { ageCutoff, countCutoff } from './retention.js';
import { RequestTable } from './request-table.js';
import { migrate } from './schema.js';
import { SessionTable } from './session-table.js';
import { statements, type Statements } from './statements.js';
import { CatalogChanges, TopicCatalog } from './topic-catalog.js';

export interface SqliteStoreOptions {
  /** The database file (created when missing), or ':memory:'. */
  file: string;
  /**
   * 'normal': a crashed or killed process loses nothing that was acknowledged; a power cut may
   * lose the last commits. 'full': a power cut loses nothing either, at the cost of an fsync per
   * commit. @default 'normal'
   */
  synchronous?: 'normal' | 'full';
  /**
   * Largest size of the database in bytes; appends past it fail with STORE_FULL. Session and
   * request-run writes may go a little further (1/16 of it, from 64 KiB to 4 MiB), so that clients still get their
   * replies, STORE_FULL ones included, once messages filled the database. @default unlimited
   */
  maxSizeBytes?: number;
  /**
   * Rows removed per step by `trim` and `sweep`, which yield to the event loop between steps so
   * that removing millions of rows never stalls the server for long. @default 2000
   */
  deleteChunk?: number;
  /**
   * Most topics the store holds (a topic exists from its first append until it is trimmed to
   * nothing); an append that would create one more is refused with TOO_MANY_TOPICS.
   * @default 100000
   */
  maxTopics?: number;
  /** Receives what a listener threw; the store carries on. @default console.error */
  onListenerError?: (error: unknown) => void;
  /**
   * Receives a problem the store works around without failing a call: the checkpoint thread could
   * not start or died, and checkpoints went back to the event loop. @default console.error
   */
  onError?: (error: unknown) => void;
}

interface MessageRow {
  offset: number;
  key: string | null;
  data: string;
  time: number;
}

/** Lets timers and I/O run between the steps of a long removal. */
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The embedded durable Store on SQLite (better-sqlite3) in WAL mode. Every `append` call is one
 * transaction (the server calls it once per event-loop turn with everything that turn produced),
 * committed before the promise resolves: an acknowledged message is on disk.
 *
 * One server owns a database: a lock file next to it (`<file>-lock`, see database-lock.ts) is
 * held while the store is open, and a second store fails at once with DATABASE_LOCKED.
 *
 * Checkpoints, which copy the write-ahead log into the database and fsync both, run on a worker
 * thread with its own connection (checkpointer.ts), so that they do not stall the event loop.
 *
 * Being the only instance on its database, it delivers the events of every topic (`watch` only
 * records the topics), never sends `session` events (no other instance takes a session over) nor
 * `health` ones (it cannot lose its database), and sends `request` events to its own listeners.
 */
export class SqliteStore implements Store {
  readonly epoch: string;
  private readonly db: Database.Database;
  private readonly sql: Statements;
  private readonly events: EventFanout;
  private readonly deleteChunk: number;
  private readonly maxTopics: number;
  /** With maxSizeBytes: the page limit of appends, and the higher one of session saves. */
  private readonly pageLimits: { appends: number; sessions: number } | undefined;
  private readonly onError: (error: unknown) => void;
  /** Undefined for ':memory:', which has neither a file to lock nor a log to checkpoint. */
  private readonly lock: DatabaseLock | undefined;
  private readonly checkpointer: Checkpointer | undefined;
  /** Heads, epochs and counts of the topics: this process owns the file, so they cannot go stale. */
  private readonly catalog: TopicCatalog;
  private readonly sessions: SessionTable;
  private readonly requests: RequestTable;
  /** The topics watched: recorded only, as every topic's events are delivered. */
  private readonly watched = new Set<string>();
  /** Trims of one topic run one after another. */
  private readonly trims = new Map<string, Promise<number>>();
  private closed = false;

  constructor(options: SqliteStoreOptions) {
    this.events = new EventFanout(options.onListenerError);
    this.deleteChunk = Math.max(1, options.deleteChunk ?? 2000);
    this.maxTopics = options.maxTopics ?? DEFAULT_MAX_TOPICS;
    this.onError = options.onError ?? ((error) => console.error('[holdfast]', error));
    const onDisk = options.file !== ':memory:' && options.file !== '';
    // The lock first: a second store is refused before it touches the database (no recovery, no migration).
    try {
      this.lock = onDisk ? new DatabaseLock(lockFileOf(options.file)) : undefined;
    } catch (error) {
      throw startError(error, options.file);
    }
    try {
      // No busy timeout: the store's thread never waits for a lock (only its own checkpoint thread
      // shares the database, and PASSIVE checkpoints take no lock a writer waits for).
      this.db = new Database(options.file, { timeout: 0 });
    } catch (error) {
      this.lock?.release();
      throw new HoldfastError(ErrorCode.DataFolderUnusable, `cannot open the database ${options.file}: ${message(error)}`, { cause: error });
    }
    const synchronous = options.synchronous === 'full' ? 'FULL' : 'NORMAL';
    try {
      // Normal locking mode, not EXCLUSIVE: the checkpoint thread needs a connection of its own.
      this.db.pragma('journal_mode = WAL');
      this.db.pragma(`synchronous = ${synchronous}`);
      if (options.maxSizeBytes !== undefined) {
        const pageSize = this.db.pragma('page_size', { simple: true }) as number;
        const appends = Math.max(1, Math.floor(options.maxSizeBytes / pageSize));
        this.pageLimits = { appends, sessions: appends + Math.min(1024, Math.max(16, Math.ceil(appends / 16))) };
        this.db.pragma(`max_page_count = ${appends}`);
      }
      migrate(this.db);
      this.sql = statements(this.db);
      this.epoch = this.readEpoch();
      this.catalog = new TopicCatalog(this.sql, this.epoch);
      this.sessions = new SessionTable(this.db, this.sql);
      this.requests = new RequestTable(this.db, this.sql);
    } catch (error) {
      this.db.close();
      this.lock?.release();
      throw startError(error, options.file);
    }
    // Last, once the database is known good: a failure before needs no thread stopped.
    this.checkpointer = onDisk ? new Checkpointer(this.db, { file: options.file, synchronous, onError: this.onError }) : undefined;
  }

  async append(entries: AppendEntry[]): Promise<AppendResult[]> {
    this.ensureOpen();
    const changes = new CatalogChanges();
    const appended = new Map<string, StoredMessage[]>();
    const context: AppendContext = { sql: this.sql, catalog: this.catalog, maxTopics: this.maxTopics };
    let results: AppendResult[];
    try {
      results = this.db.transaction(() => {
        const result = entries.map((entry) => appendEntry(context, entry, changes, appended));
        // Once per topic, not per message.
        for (const [topic, { head, epoch }] of changes.topics) this.sql.upsertTopic.run(topic, head, epoch);
        return result;
      })();
    } catch (error) {
      throw storeError(error); // rolled back: nothing of this batch is stored, nothing is acknowledged
    }
    this.catalog.commit(changes);
    for (const [topic, messages] of appended) this.events.emit({ kind: 'appended', topic, epoch: changes.topics.get(topic)!.epoch, messages });
    return results;
  }

  /**
   * With `maxBytes`, rows are stepped through one by one and reading stops after the one whose
   * `data` takes the total (in UTF-16 units of the stored JSON, near enough to bytes) past it.
   */
  async read(topic: string, afterOffset: number, limit: number, maxBytes?: number): Promise<ReadResult> {
    this.ensureOpen();
    const messages: StoredMessage[] = [];
    if (limit > 0 && maxBytes === undefined) {
      for (const row of this.sql.read.all(topic, afterOffset, limit) as MessageRow[]) messages.push(toMessage(topic, row));
    } else if (limit > 0) {
      let bytes = 0;
      for (const row of this.sql.read.iterate(topic, afterOffset, limit) as IterableIterator<MessageRow>) {
        messages.push(toMessage(topic, row));
        bytes += row.data.length;
        if (bytes > maxBytes!) break;
      }
    }
    return { ...this.infoNow(topic), messages };
  }

  async info(topic: string): Promise<StreamInfo> {
    this.ensureOpen();
    return this.infoNow(topic);
  }

  /**
   * Removes what the policy does not keep, oldest first, `deleteChunk` rows per step with the
   * event loop free between steps. Killing the process mid-trim leaves a consistent database:
   * each step is its own transaction and removes a prefix of the topic.
   */
  trim(topic: string, policy: RetentionPolicy, now: number): Promise<TrimResult> {
    if (this.closed) return Promise.reject(closedError());
    const previous = this.trims.get(topic) ?? Promise.resolve(0);
    const run = previous.catch(() => 0).then(() => this.trimNow(topic, policy, now));
    const result = run.then((removed) => this.afterTrim(topic, removed));
    this.trims.set(topic, run);
    void run.finally(() => this.trims.get(topic) === run && this.trims.delete(topic)).catch(() => undefined);
    return result;
  }

  /**
   * The oldest message left, or, when none is, forgets the topic. In one turn of the event loop
   * with that check, so no append lands between "empty" and "forgotten".
   */
  private afterTrim(topic: string, removed: number): TrimResult {
    if (this.closed) return { removed };
    if (removed > 0) this.catalog.trimmed(topic);
    const oldest = (this.sql.firstFrom.get(topic, 0) as { time: number } | undefined)?.time;
    if (oldest !== undefined) return { removed, oldest };
    try {
      this.catalog.forget(topic, this.db);
    } catch (error) {
      throw storeError(error);
    }
    return { removed };
  }

  private async trimNow(topic: string, policy: RetentionPolicy, now: number): Promise<number> {
    if (this.closed) return 0;
    const { first, head } = this.infoNow(topic);
    const last = Math.max(countCutoff(this.sql, topic, policy.maxCount), ageCutoff(this.sql, topic, { first, head }, policy.maxAgeMs, now));
    let removed = 0;
    for (let from = first; from <= last && !this.closed; from += this.deleteChunk) {
      if (removed > 0) await yieldToEventLoop();
      if (this.closed) break;
      removed += this.sql.deleteRange.run(topic, from, Math.min(last, from + this.deleteChunk - 1)).changes;
    }
    return removed;
  }

  async broadcast(message: VolatileMessage): Promise<void> {
    this.ensureOpen();
    this.events.emit({ kind: 'volatile', message });
  }

  listen(listener: StoreListener): () => void {
    this.ensureOpen();
    return this.events.add(listener);
  }

  /** Recorded only: this store delivers the events of every topic (it is the only instance). */
  async watch(topic: string): Promise<void> {
    this.ensureOpen();
    this.watched.add(topic);
  }

  unwatch(topic: string): void {
    this.watched.delete(topic);
  }

  async claimIds(keys: string[], ttlMs: number, now: number): Promise<boolean[]> {
    this.ensureOpen();
    const { sql } = this;
    try {
      return this.db.transaction(() =>
        keys.map((key) => {
          const row = sql.claimGet.get(key) as { expires_at: number } | undefined;
          if (row !== undefined && row.expires_at > now) return false;
          sql.claimPut.run(key, now + ttlMs);
          return true;
        }),
      )();
    } catch (error) {
      throw storeError(error);
    }
  }

  /** Request runs write rows that may carry a reply's data: they may use the sessions' reserve. */
  async claimRequest(key: string, now: number, leaseMs: number, ttlMs: number): Promise<RequestClaim> {
    this.ensureOpen();
    return this.withReserve(() => this.requests.claim(key, now, leaseMs, ttlMs));
  }

  async renewRequests(keys: string[], now: number, leaseMs: number): Promise<void> {
    this.ensureOpen();
    this.withReserve(() => this.requests.renew(keys, now, leaseMs));
  }

  async completeRequest(key: string, outcome: RequestOutcome, now: number, ttlMs: number): Promise<void> {
    this.ensureOpen();
    const waited = this.withReserve(() => this.requests.complete(key, outcome, now, ttlMs));
    if (waited !== undefined) this.events.emit({ kind: 'request', key, outcome: waited });
  }

  async confirmRequests(keys: string[]): Promise<void> {
    this.ensureOpen();
    this.withReserve(() => this.requests.confirm(keys));
  }

  async createSession(state: SessionState): Promise<boolean> {
    this.ensureOpen();
    if (state.version !== 1) throw new TypeError(`createSession: a new session is at version 1, not ${state.version}`);
    return this.withReserve(() => this.sessions.create(state));
  }

  async takeSession(id: string, version: number, change: SessionTakeover): Promise<number | undefined> {
    this.ensureOpen();
    return this.withReserve(() => this.sessions.take(id, version, change));
  }

  async saveSessions(updates: SessionUpdate[]): Promise<boolean[]> {
    this.ensureOpen();
    return this.withReserve(() => this.sessions.save(updates));
  }

  async loadSession(id: string): Promise<SessionRecord | undefined> {
    this.ensureOpen();
    return this.sessions.load(id);
  }

  async deleteSession(id: string, version: number): Promise<void> {
    this.ensureOpen();
    try {
      this.sessions.delete(id, version);
    } catch (error) {
      throw storeError(error);
    }
  }

  /**
   * Runs a write of sessions or request runs. Those add rows (kept replies, outcomes) where
   * sessions used to rewrite a record in place, so on a database full of messages they need pages
   * that appends may not take: they may use a reserve past maxSizeBytes. Without one, the replies
   * that say STORE_FULL could not be saved, nor sent.
   */
  private withReserve<T>(write: () => T): T {
    const limits = this.pageLimits;
    try {
      if (limits !== undefined) this.db.pragma(`max_page_count = ${limits.sessions}`);
      return write();
    } catch (error) {
      throw storeError(error);
    } finally {
      // Never below the database's size (SQLite keeps the larger): appends get no more room.
      if (limits !== undefined) this.db.pragma(`max_page_count = ${limits.appends}`);
    }
  }

  /**
   * Removes expired sessions and ids in steps, like `trim`: first the replies and cursors of
   * expired sessions, then the sessions (with any reply or cursor saved meanwhile), then the ids
   * and request runs.
   */
  async sweep(now: number): Promise<{ sessions: number; ids: number }> {
    this.ensureOpen();
    await this.deleteInSteps(() => this.sessions.sweepReplies(now, this.deleteChunk));
    await this.deleteInSteps(() => this.sessions.sweepCursors(now, this.deleteChunk));
    const sessions = await this.deleteInSteps(() => this.sessions.sweepSessions(now, this.deleteChunk));
    const dedup = await this.deleteInSteps(() => this.sql.sweepDedup.run(now, this.deleteChunk).changes);
    const claims = await this.deleteInSteps(() => this.sql.sweepClaims.run(now, this.deleteChunk).changes);
    const requests = await this.deleteInSteps(() => this.requests.sweep(now, this.deleteChunk));
    return { sessions, ids: dedup + claims + requests };
  }

  private async deleteInSteps(step: () => number): Promise<number> {
    let total = 0;
    for (let removed = step(); removed > 0 && !this.closed; removed = step()) {
      total += removed;
      if (removed < this.deleteChunk) break;
      await yieldToEventLoop();
      if (this.closed) break;
    }
    return total;
  }

  /**
   * Stops the checkpoint thread, copies the whole log into the database and empties it (so the
   * folder holds just the database and its lock file), closes, and releases the lock.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.events.clear();
    this.watched.clear();
    try {
      if (this.checkpointer !== undefined) {
        await this.checkpointer.stop();
        this.db.pragma('wal_checkpoint(TRUNCATE)');
      }
    } catch (error) {
      // Nothing is lost: the log is replayed on the next start. Closing must go on regardless.
      this.onError(error);
    } finally {
      this.db.close();
      this.lock?.release();
    }
  }

  private infoNow(topic: string): StreamInfo {
    const known = this.catalog.get(topic);
    if (known === undefined) return { epoch: this.catalog.nextEpoch(), head: 0, first: 1 };
    const first = (this.sql.firstGet.get(topic) as { first: number | null }).first ?? known.head + 1;
    return { epoch: known.epoch, head: known.head, first };
  }

  private readEpoch(): string {
    const row = this.sql.metaGet.get('epoch') as { value: string } | undefined;
    if (row !== undefined) return row.value;
    // Created once with the database: the history lives as long as the file does.
    const epoch = globalThis.crypto.randomUUID();
    this.sql.metaPut.run('epoch', epoch);
    return epoch;
  }

  private ensureOpen(): void {
    if (this.closed) throw closedError();
  }
}

const DEFAULT_MAX_TOPICS = 100_000;

function toMessage(topic: string, row: MessageRow): StoredMessage {
  const base = { topic, offset: row.offset, data: JSON.parse(row.data) as unknown };
  return row.key === null ? { ...base, time: row.time } : { ...base, key: row.key, time: row.time };
}
