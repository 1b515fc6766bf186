import Database from 'better-sqlite3';
import { ErrorCode, HoldfastError } from '../../protocol/index.js';
import { EventFanout } from '../event-fanout.js';
import type {
  AppendEntry,
  AppendOutcome,
  AppendResult,
  ReadResult,
  RetentionPolicy,
  KeptReply,
  SessionRecord,
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
import { migrate } from './schema.js';
import { statements, type Statements } from './statements.js';

export interface SqliteStoreOptions {
  /** The database file (created when missing), or ':memory:'. */
  file: string;
  /**
   * 'normal': a crashed or killed process loses nothing that was acknowledged; a power cut may
   * lose the last commits. 'full': a power cut loses nothing either, at the cost of an fsync per
   * commit. @default 'normal'
   */
  synchronous?: 'normal' | 'full';
  /** Largest size of the database in bytes; writes past it fail with STORE_FULL. @default unlimited */
  maxSizeBytes?: number;
  /**
   * Rows removed per step by `trim` and `sweep`, which yield to the event loop between steps so
   * that removing millions of rows never stalls the server for long. @default 2000
   */
  deleteChunk?: number;
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
 */
export class SqliteStore implements Store {
  readonly epoch: string;
  private readonly db: Database.Database;
  private readonly sql: Statements;
  private readonly events: EventFanout;
  private readonly deleteChunk: number;
  private readonly onError: (error: unknown) => void;
  /** Undefined for ':memory:', which has neither a file to lock nor a log to checkpoint. */
  private readonly lock: DatabaseLock | undefined;
  private readonly checkpointer: Checkpointer | undefined;
  /** Newest offset per topic: this process owns the file, so the cache cannot go stale. */
  private readonly heads = new Map<string, number>();
  /** Trims of one topic run one after another. */
  private readonly trims = new Map<string, Promise<number>>();
  private closed = false;

  constructor(options: SqliteStoreOptions) {
    this.events = new EventFanout(options.onListenerError);
    this.deleteChunk = Math.max(1, options.deleteChunk ?? 2000);
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
        this.db.pragma(`max_page_count = ${Math.max(1, Math.floor(options.maxSizeBytes / pageSize))}`);
      }
      migrate(this.db);
      this.sql = statements(this.db);
      this.epoch = this.readEpoch();
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
    const heads = new Map<string, number>();
    const appended = new Map<string, StoredMessage[]>();
    let outcomes: AppendOutcome[];
    try {
      outcomes = this.db.transaction(() => {
        const result = entries.map((entry) => this.appendOne(entry, heads, appended));
        for (const [topic, head] of heads) this.sql.upsertHead.run(topic, head); // once per topic, not per message
        return result;
      })();
    } catch (error) {
      throw storeError(error); // rolled back: nothing of this batch is stored, nothing is acknowledged
    }
    for (const [topic, head] of heads) this.heads.set(topic, head);
    for (const [topic, messages] of appended) this.events.emit({ kind: 'appended', topic, epoch: this.epoch, messages });
    return outcomes;
  }

  private appendOne(entry: AppendEntry, heads: Map<string, number>, appended: Map<string, StoredMessage[]>): AppendOutcome {
    const { sql } = this;
    if (entry.dedupKey !== undefined) {
      const seen = sql.dedupGet.get(entry.dedupKey) as { offset: number; expires_at: number } | undefined;
      if (seen !== undefined && seen.expires_at > entry.time) return { offset: seen.offset, epoch: this.epoch, duplicate: true };
    }
    const offset = (heads.get(entry.topic) ?? this.head(entry.topic)) + 1;
    const compact = entry.compact === true;
    const key = compact ? (entry.key ?? '') : entry.key;
    if (compact) sql.deleteCompacted.run(entry.topic, key);
    sql.insertMessage.run(entry.topic, offset, key ?? null, compact ? key : null, JSON.stringify(entry.data ?? null), entry.time);
    if (entry.dedupKey !== undefined) sql.dedupPut.run(entry.dedupKey, offset, entry.time + (entry.dedupTtlMs ?? DEFAULT_DEDUP_TTL_MS));
    heads.set(entry.topic, offset);
    // Literals rather than a spread of a shared base: one object per message, not two.
    const stored: StoredMessage = Object.freeze(
      key === undefined
        ? { topic: entry.topic, offset, data: entry.data, time: entry.time }
        : { topic: entry.topic, offset, data: entry.data, key, time: entry.time },
    );
    const group = appended.get(entry.topic);
    if (group === undefined) appended.set(entry.topic, [stored]);
    else group.push(stored);
    return { offset, epoch: this.epoch, duplicate: false };
  }

  async read(topic: string, afterOffset: number, limit: number): Promise<ReadResult> {
    this.ensureOpen();
    const rows = limit > 0 ? (this.sql.read.all(topic, afterOffset, limit) as MessageRow[]) : [];
    const messages = rows.map((row) => toMessage(topic, row));
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
    const result = run.then((removed) => {
      const oldest = this.closed ? undefined : (this.sql.firstFrom.get(topic, 0) as { time: number } | undefined)?.time;
      return oldest === undefined ? { removed } : { removed, oldest };
    });
    this.trims.set(topic, run);
    void run.finally(() => this.trims.get(topic) === run && this.trims.delete(topic)).catch(() => undefined);
    return result;
  }

  private async trimNow(topic: string, policy: RetentionPolicy, now: number): Promise<number> {
    if (this.closed) return 0;
    const last = Math.max(this.countCutoff(topic, policy.maxCount), this.ageCutoff(topic, policy.maxAgeMs, now));
    let removed = 0;
    for (let from = this.infoNow(topic).first; from <= last && !this.closed; from += this.deleteChunk) {
      if (removed > 0) await yieldToEventLoop();
      if (this.closed) break;
      removed += this.sql.deleteRange.run(topic, from, Math.min(last, from + this.deleteChunk - 1)).changes;
    }
    return removed;
  }

  /** The newest offset that maxCount does not keep, or 0. */
  private countCutoff(topic: string, maxCount: number | undefined): number {
    if (maxCount === undefined) return 0;
    const row = this.sql.nthNewest.get(topic, Math.max(0, maxCount)) as { offset: number } | undefined;
    return row?.offset ?? 0;
  }

  /**
   * The newest offset older than maxAgeMs, or 0. Times grow with offsets (one clock appends), so a
   * binary search over offsets finds it with a few indexed lookups, never a scan.
   */
  private ageCutoff(topic: string, maxAgeMs: number | undefined, now: number): number {
    if (maxAgeMs === undefined) return 0;
    const cutoff = now - maxAgeMs;
    const { first, head } = this.infoNow(topic);
    let lo = first;
    let hi = head + 1; // the first offset whose next retained message is young (or there is none)
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const next = this.sql.firstFrom.get(topic, mid) as { offset: number; time: number } | undefined;
      if (next === undefined || next.time >= cutoff) hi = mid;
      else lo = next.offset + 1;
    }
    return lo - 1;
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

  async saveSessions(updates: SessionUpdate[]): Promise<void> {
    this.ensureOpen();
    try {
      this.db.transaction(() => {
        for (const update of updates) {
          const row = this.sql.sessionGet.get(update.state.id) as { record: string } | undefined;
          const replies = new Map<number, KeptReply>();
          if (row !== undefined) for (const reply of (JSON.parse(row.record) as SessionRecord).replies) replies.set(reply.seq, reply);
          for (const reply of update.addReplies ?? []) replies.set(reply.seq, reply);
          for (const seq of update.removeReplies ?? []) replies.delete(seq);
          const record: SessionRecord = { ...update.state, replies: [...replies.values()].sort((a, b) => a.seq - b.seq) };
          this.sql.sessionPut.run(record.id, record.expiresAt, JSON.stringify(record));
        }
      })();
    } catch (error) {
      throw storeError(error);
    }
  }

  async loadSession(id: string): Promise<SessionRecord | undefined> {
    this.ensureOpen();
    const row = this.sql.sessionGet.get(id) as { record: string } | undefined;
    return row === undefined ? undefined : (JSON.parse(row.record) as SessionRecord);
  }

  async deleteSession(id: string): Promise<void> {
    this.ensureOpen();
    this.sql.sessionDelete.run(id);
  }

  /** Removes expired sessions and ids in steps, like `trim`. */
  async sweep(now: number): Promise<{ sessions: number; ids: number }> {
    this.ensureOpen();
    const sessions = await this.deleteInSteps(() => this.sql.sweepSessions.run(now, this.deleteChunk).changes);
    const dedup = await this.deleteInSteps(() => this.sql.sweepDedup.run(now, this.deleteChunk).changes);
    const claims = await this.deleteInSteps(() => this.sql.sweepClaims.run(now, this.deleteChunk).changes);
    return { sessions, ids: dedup + claims };
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

  private head(topic: string): number {
    let head = this.heads.get(topic);
    if (head === undefined) {
      head = (this.sql.headGet.get(topic) as { head: number } | undefined)?.head ?? 0;
      this.heads.set(topic, head);
    }
    return head;
  }

  private infoNow(topic: string): StreamInfo {
    const head = this.head(topic);
    const first = (this.sql.firstGet.get(topic) as { first: number | null }).first ?? head + 1;
    return { epoch: this.epoch, head, first };
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

/** Used when an entry has a `dedupKey` but no `dedupTtlMs`: the protocol's de-duplication window. */
const DEFAULT_DEDUP_TTL_MS = 10 * 60 * 1000;

function closedError(): HoldfastError {
  return new HoldfastError(ErrorCode.StoreUnavailable, 'the SQLite store is closed');
}

function toMessage(topic: string, row: MessageRow): StoredMessage {
  const base = { topic, offset: row.offset, data: JSON.parse(row.data) as unknown };
  return row.key === null ? { ...base, time: row.time } : { ...base, key: row.key, time: row.time };
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function sqliteCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : undefined;
}

/** A write failed: full disk (or maxSizeBytes) is STORE_FULL, anything else STORE_UNAVAILABLE. */
function storeError(error: unknown): HoldfastError {
  if (error instanceof HoldfastError) return error;
  if (sqliteCode(error) === 'SQLITE_FULL') {
    return new HoldfastError(ErrorCode.StoreFull, 'the database is full (disk or maxSizeBytes); nothing was stored', { cause: error });
  }
  return new HoldfastError(ErrorCode.StoreUnavailable, `the database failed: ${message(error)}`, { cause: error });
}

/** Why the store cannot start, in words an operator can act on. */
function startError(error: unknown, file: string): HoldfastError {
  if (error instanceof HoldfastError) return error;
  const code = sqliteCode(error) ?? '';
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new HoldfastError(ErrorCode.DatabaseLocked, `the database ${file} is in use by another process (is another server running on this data folder?)`, { cause: error });
  }
  if (code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_PERM')) {
    return new HoldfastError(ErrorCode.DataFolderUnusable, `the database ${file} cannot be written: ${message(error)}`, { cause: error });
  }
  return new HoldfastError(ErrorCode.DataFolderUnusable, `cannot use the database ${file}: ${message(error)}`, { cause: error });
}
