import type { Database } from 'better-sqlite3';
import type { KeptReply, SessionRecord, SessionState, SessionTakeover, SessionUpdate } from '../types.js';
import type { Statements } from './statements.js';

/**
 * Sessions in the SQLite store: the state in `sessions` (one small row, patched in place), each
 * kept reply in a row of `session_replies`. A save writes only what changed, so confirming one
 * reply of a session that keeps 10,000 costs a few pages, not the 1.5 MB the whole record was (see
 * the schema's migration v2). The columns `version` and `expires_at` are the truth for those two
 * fields; the state JSON holds the rest.
 */
export class SessionTable {
  constructor(
    private readonly db: Database,
    private readonly sql: Statements,
  ) {}

  create(state: SessionState): boolean {
    const { version: _, expiresAt, ...rest } = state;
    return this.sql.sessionCreate.run(state.id, expiresAt, JSON.stringify(rest)).changes === 1;
  }

  take(id: string, version: number, change: SessionTakeover): number | undefined {
    const patch = JSON.stringify({ tokenHash: change.tokenHash, previousTokenHash: change.previousTokenHash ?? null });
    return this.sql.sessionTake.run(change.expiresAt, patch, id, version).changes === 1 ? version + 1 : undefined;
  }

  /**
   * All updates in one transaction; an update applies only at its version. The state's changes are
   * one merge patch (cursors set null are removed by it), the replies a row each.
   */
  save(updates: SessionUpdate[]): boolean[] {
    const { sql } = this;
    return this.db.transaction(() =>
      updates.map(({ id, version, expiresAt, ledger, cursors, addReplies, removeReplies }) => {
        const patch: { lastSeq?: number; doneAbove?: number[]; cursors?: SessionUpdate['cursors'] } = {};
        if (ledger !== undefined) {
          patch.lastSeq = ledger.lastSeq;
          patch.doneAbove = ledger.doneAbove;
        }
        if (cursors !== undefined) patch.cursors = cursors;
        const applied =
          expiresAt === undefined && ledger === undefined && cursors === undefined
            ? sql.sessionAt.get(id, version) !== undefined
            : sql.sessionPatch.run(expiresAt ?? null, JSON.stringify(patch), id, version).changes === 1;
        if (!applied) return false;
        if (addReplies !== undefined) for (const reply of addReplies) sql.replyPut.run(id, reply.seq, JSON.stringify(reply));
        if (removeReplies !== undefined) for (const seq of removeReplies) sql.replyDelete.run(id, seq);
        return true;
      }),
    )();
  }

  load(id: string): SessionRecord | undefined {
    const row = this.sql.sessionGet.get(id) as { expires_at: number; version: number; state: string } | undefined;
    if (row === undefined) return undefined;
    const replies = (this.sql.repliesGet.all(id) as { reply: string }[]).map((r) => JSON.parse(r.reply) as KeptReply);
    return { ...(JSON.parse(row.state) as SessionState), expiresAt: row.expires_at, version: row.version, replies };
  }

  /** The session and every reply it keeps (bounded by maxKeptReplies), in one transaction, if still at `version`. */
  delete(id: string, version: number): void {
    this.db.transaction(() => {
      if (this.sql.sessionDeleteAt.run(id, version).changes === 1) this.sql.repliesDelete.run(id);
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
