import type { Database } from 'better-sqlite3';
import type { KeptReply, SessionRecord, SessionState, SessionUpdate } from '../types.js';
import type { Statements } from './statements.js';

/**
 * Sessions in the SQLite store: the state in `sessions` (one small row, rewritten whole), each
 * kept reply in a row of `session_replies`. A save writes the state and only the replies that
 * changed, so confirming one reply of a session that keeps 10,000 costs a few pages, not the
 * 1.5 MB the whole record was (see the schema's migration v2).
 */
export class SessionTable {
  constructor(
    private readonly db: Database,
    private readonly sql: Statements,
  ) {}

  /** All updates in one transaction: all or none. */
  save(updates: SessionUpdate[]): void {
    const { sql } = this;
    this.db.transaction(() => {
      for (const { state, addReplies, removeReplies } of updates) {
        sql.sessionPut.run(state.id, state.expiresAt, JSON.stringify(state));
        if (addReplies !== undefined) for (const reply of addReplies) sql.replyPut.run(state.id, reply.seq, JSON.stringify(reply));
        if (removeReplies !== undefined) for (const seq of removeReplies) sql.replyDelete.run(state.id, seq);
      }
    })();
  }

  load(id: string): SessionRecord | undefined {
    const row = this.sql.sessionGet.get(id) as { expires_at: number; state: string } | undefined;
    if (row === undefined) return undefined;
    const replies = (this.sql.repliesGet.all(id) as { reply: string }[]).map((r) => JSON.parse(r.reply) as KeptReply);
    // The column is the truth for the expiry: the sweep reads it, and migration v2 set it.
    return { ...(JSON.parse(row.state) as SessionState), expiresAt: row.expires_at, replies };
  }

  /** The session and every reply it keeps (bounded by maxKeptReplies), in one transaction. */
  delete(id: string): void {
    this.db.transaction(() => {
      this.sql.repliesDelete.run(id);
      this.sql.sessionDelete.run(id);
    })();
  }

  /** One step of the sweep: removes up to `limit` replies of sessions expired at `now`. */
  sweepReplies(now: number, limit: number): number {
    return this.sql.sweepReplies.run(now, limit).changes;
  }

  /**
   * One step of the sweep, after sweepReplies: removes up to `limit` expired sessions, each with
   * what it still keeps (replies saved since its replies were swept), in one transaction.
   */
  sweepSessions(now: number, limit: number): number {
    return this.db.transaction(() => {
      const expired = this.sql.expiredSessions.all(now, limit) as { id: string }[];
      for (const { id } of expired) {
        this.sql.repliesDelete.run(id);
        this.sql.sessionDelete.run(id);
      }
      return expired.length;
    })();
  }
}
