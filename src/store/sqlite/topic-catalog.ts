import type { Database } from 'better-sqlite3';
import type { Statements } from './statements.js';

/** A topic that exists: it has a `topics` row. */
export interface TopicRow {
  head: number;
  /** Set when the topic is created; a forgotten topic is created again in a new epoch. */
  epoch: string;
}

/**
 * What an append batch changed of the catalog, applied once its transaction committed (and
 * dropped if it rolled back, so the caches never hold what the database does not).
 */
export class CatalogChanges {
  /** Topics this batch appended to, with their new heads (and epochs, for the ones it created). */
  readonly topics = new Map<string, TopicRow>();
  created = 0;
  /** Key counts of compacted topics this batch changed, where the count is known. */
  readonly keyCounts = new Map<string, number>();
}

/**
 * The SQLite store's knowledge of its topics: heads and epochs of existing topics (cached, since
 * this process owns the file and they cannot change behind its back), how many topics exist (for
 * `maxTopics`, counted once at open), per-topic key counts of compacted topics (for `maxKeys`,
 * counted on first use), and how many topics were forgotten, which names the epoch of new ones.
 *
 * Only existing topics are cached: reading topics that do not exist (any client may name one)
 * must not grow the cache.
 */
export class TopicCatalog {
  private readonly rows = new Map<string, TopicRow>();
  private readonly keyCounts = new Map<string, number>();
  private topicCount: number;
  private forgotten: number;

  constructor(
    private readonly sql: Statements,
    private readonly storeEpoch: string,
  ) {
    this.topicCount = (sql.topicCount.get() as { n: number }).n;
    this.forgotten = Number((sql.metaGet.get('forgotten') as { value: string } | undefined)?.value ?? 0);
  }

  /** How many topics exist. */
  get count(): number {
    return this.topicCount;
  }

  get(topic: string): TopicRow | undefined {
    let row = this.rows.get(topic);
    if (row === undefined) {
      row = this.sql.topicGet.get(topic) as TopicRow | undefined;
      if (row !== undefined) this.rows.set(topic, row);
    }
    return row;
  }

  /**
   * The epoch a topic gets when it is created: the store's own until a topic is forgotten, then a
   * new one per forgetting (as the memory store does), so a forgotten topic's next history never
   * shares the epoch of its last. A topic that does not exist reports this one.
   */
  nextEpoch(): string {
    return this.forgotten === 0 ? this.storeEpoch : `${this.storeEpoch}.${this.forgotten}`;
  }

  /** The number of keys of a compacted topic, as of the batch's writes so far. */
  keyCount(topic: string, changes: CatalogChanges): number {
    let count = changes.keyCounts.get(topic) ?? this.keyCounts.get(topic);
    if (count === undefined) {
      // Counted inside the batch's transaction, so the batch's own writes are included.
      count = (this.sql.keyCount.get(topic) as { n: number }).n;
      changes.keyCounts.set(topic, count);
    }
    return count;
  }

  /** A compacted topic got a new key in this batch. */
  addKey(topic: string, changes: CatalogChanges): void {
    const count = changes.keyCounts.get(topic) ?? this.keyCounts.get(topic);
    if (count !== undefined) changes.keyCounts.set(topic, count + 1);
  }

  /** After the batch's transaction committed. */
  commit(changes: CatalogChanges): void {
    for (const [topic, row] of changes.topics) this.rows.set(topic, row);
    for (const [topic, count] of changes.keyCounts) this.keyCounts.set(topic, count);
    this.topicCount += changes.created;
  }

  /** A trim removed messages of `topic`: its key count is counted again when next needed. */
  trimmed(topic: string): void {
    this.keyCounts.delete(topic);
  }

  /**
   * Forgets a topic that retains nothing: its row goes and the forget counter moves on, in one
   * transaction. Returns false (and changes nothing) when the topic does not exist.
   */
  forget(topic: string, db: Database): boolean {
    const deleted = db.transaction(() => {
      if (this.sql.topicDelete.run(topic).changes === 0) return false;
      this.sql.metaPut.run('forgotten', String(this.forgotten + 1));
      return true;
    })();
    this.rows.delete(topic);
    this.keyCounts.delete(topic);
    if (deleted) {
      this.forgotten++;
      this.topicCount--;
    }
    return deleted;
  }
}
