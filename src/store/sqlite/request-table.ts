import type { Database } from 'better-sqlite3';
import type { RequestClaim, RequestOutcome } from '../types.js';
import type { Statements } from './statements.js';

interface RequestRow {
  state: 'running' | 'done' | 'confirmed';
  outcome: string | null;
  lease_until: number;
  expires_at: number;
}

/**
 * Request runs by id in the SQLite store: a row per id, from its claim until its ttl. One store
 * owns the database, so the claims that answered `running` (the waiters for a `request` event)
 * are this store's own, kept in memory.
 */
export class RequestTable {
  /** Ids whose claim answered running here: their completion is told to this store's listeners. */
  private readonly waiting = new Set<string>();

  constructor(
    private readonly db: Database,
    private readonly sql: Statements,
  ) {}

  claim(key: string, now: number, leaseMs: number, ttlMs: number): RequestClaim {
    const claim = this.db.transaction((): RequestClaim => {
      const row = this.sql.requestGet.get(key) as RequestRow | undefined;
      if (row === undefined || row.expires_at <= now) {
        this.sql.requestStart.run(key, now + leaseMs, now + ttlMs);
        return { state: 'new' };
      }
      if (row.state === 'done') return { state: 'done', outcome: JSON.parse(row.outcome!) as RequestOutcome };
      if (row.state === 'confirmed') return { state: 'confirmed' };
      return row.lease_until <= now ? { state: 'lost' } : { state: 'running' };
    })();
    if (claim.state === 'running') this.waiting.add(key);
    else this.waiting.delete(key);
    return claim;
  }

  renew(keys: string[], now: number, leaseMs: number): void {
    this.db.transaction(() => {
      for (const key of keys) this.sql.requestRenew.run(now + leaseMs, key, now, now);
    })();
  }

  /** Stores the outcome; returns it as stored when a claim here waits for it, for the `request` event. */
  complete(key: string, outcome: RequestOutcome, now: number, ttlMs: number): RequestOutcome | undefined {
    const json = JSON.stringify(outcome);
    this.sql.requestComplete.run(key, json, now, now + ttlMs);
    return this.waiting.delete(key) ? (JSON.parse(json) as RequestOutcome) : undefined;
  }

  confirm(keys: string[]): void {
    this.db.transaction(() => {
      for (const key of keys) this.sql.requestConfirm.run(key);
    })();
  }

  /** One step of the sweep: removes up to `limit` runs expired at `now`. */
  sweep(now: number, limit: number): number {
    const removed = this.sql.sweepRequests.run(now, limit).changes;
    // Waiters of runs that will never complete (lost, then swept) go with them.
    if (removed > 0) for (const key of this.waiting) if (this.sql.requestGet.get(key) === undefined) this.waiting.delete(key);
    return removed;
  }
}
