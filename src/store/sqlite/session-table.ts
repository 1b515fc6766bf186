import type { Database } from 'better-sqlite3';
import type { Cursor, KeptReply, SessionRecord, SessionState, SessionTakeover, SessionUpdate } from '../types.js';
import type { Statements } from './statements.js';

/**
 * Sessions in the SQLite store: the state in `sessions` (one small row, patched in place), each
 * cursor in a row of `session_cursors` and each kept reply in a row of `session_replies`. A save
 * writes only what changed, so confirming one reply of a session that keeps 10,000 costs a few
 * pages, not the 1.5 MB the whole record was (see the schema's migration v2), and adding one of
 * 100 cursors writes its row, not 8 KB of state JSON (migration v3). The columns `version` and
 * `expires_at` are the truth for those two fields, the cursor rows for `cursors`; the state JSON
 * holds the rest.
 */
export class SessionTable {
  constructor(
    private readonly db: Database,
    private readonly sql: Statements,
  ) {}

  /** The state row and its cursor rows, in one transaction; nothing when the id exists. */
  create(state: SessionState): boolean {
    const { version: _, expiresAt, cursors, ...rest } = state;
    return this.db.transaction(() => {
      if (this.sql.sessionCreate.run(state.id, expiresAt, JSON.stringify(rest)).changes !== 1) return false;
      this.putCursors(state.id, cursors);
      return true;
    })();
  }

  take(id: string, version: number, change: SessionTakeover): number | undefined {
    const patch = JSON.stringify({ tokenHash: change.tokenHash, previousTokenHash: change.previousTokenHash ?? null });
    return this.sql.sessionTake.run(change.expiresAt, patch, id, version).changes === 1 ? version + 1 : undefined;
  }

  /**
   * All updates in one transaction; an update applies only at its version, checked by the patch of
   * the state row (or, when the row has nothing to patch, by reading it), before anything else of
   * it is written. The ledger is a merge patch of the state; cursors and replies are a row each.
   */
  save(updates: SessionUpdate[]): boolean[] {
    const { sql } = this;
    return this.db.transaction(() =>
      updates.map(({ id, version, expiresAt, ledger, cursors, addReplies, removeReplies }) => {
        const patch = JSON.stringify(ledger ?? {});
        const applied =
          expiresAt !== undefined
            ? sql.sessionPatch.run(expiresAt, patch, id, version).changes === 1
            : ledger !== undefined
              ? sql.sessionPatchState.run(patch, id, version).changes === 1
              : sql.sessionAt.get(id, version) !== undefined;
        if (!applied) return false;
        if (cursors !== undefined) this.putCursors(id, cursors);
        if (addReplies !== undefined) for (const reply of addReplies) sql.replyPut.run(id, reply.seq, JSON.stringify(reply));
        if (removeReplies !== undefined) for (const seq of removeReplies) sql.replyDelete.run(id, seq);
        return true;
      }),
    )();
  }

  load(id: string): SessionRecord | undefined {
    const row = this.sql.sessionGet.get(id) as { expires_at: number; version: number; state: string } | undefined;
    if (row === undefined) return undefined;
    const cursors: Record<string, Cursor> = {};
    for (const c of this.sql.cursorsGet.all(id) as { topic: string; epoch: string; offset: number }[]) cursors[c.topic] = { epoch: c.epoch, offset: c.offset };
    const replies = (this.sql.repliesGet.all(id) as { reply: string }[]).map((r) => JSON.parse(r.reply) as KeptReply);
    return { ...(JSON.parse(row.state) as SessionState), expiresAt: row.expires_at, version: row.version, cursors, replies };
  }

  /** The session and every reply it keeps (bounded by maxKeptReplies), in one transaction, if still at `version`. */
  delete(id: string, version: number): void {
    this.db.transaction(() => {
      if (this.sql.sessionDeleteAt.run(id, version).changes !== 1) return;
      this.sql.repliesDelete.run(id);
      this.sql.cursorsDelete.run(id);
    })();
  }

  /** One step of the sweep: removes up to `limit` replies of sessions expired at `now`. */
  sweepReplies(now: number, limit: number): number {
    return this.sql.sweepReplies.run(now, limit).changes;
  }

  /** One step of the sweep: removes up to `limit` cursors of sessions expired at `now`. */
  sweepCursors(now: number, limit: number): number {
    return this.sql.sweepCursors.run(now, limit).changes;
  }

  /**
   * One step of the sweep, after sweepReplies and sweepCursors: removes up to `limit` expired
   * sessions, each with what it still keeps (replies and cursors saved since those were swept), in
   * one transaction.
   */
  sweepSessions(now: number, limit: number): number {
    return this.db.transaction(() => {
      const expired = this.sql.expiredSessions.all(now, limit) as { id: string }[];
      for (const { id } of expired) {
        this.sql.repliesDelete.run(id);
        this.sql.cursorsDelete.run(id);
        this.sql.sessionDelete.run(id);
      }
      return expired.length;
    })();
  }

  /** Sets or (null) removes cursors of a session, a row each. */
  private putCursors(id: string, cursors: Record<string, Cursor | null>): void {
    for (const [topic, cursor] of Object.entries(cursors)) {
      if (cursor === null) this.sql.cursorDelete.run(id, topic);
      else this.sql.cursorPut.run(id, topic, cursor.epoch, cursor.offset);
    }
  }
}
