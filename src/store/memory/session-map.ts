import type { Cursor, KeptReply, SessionRecord, SessionState, SessionTakeover, SessionUpdate } from '../types.js';
import type { Attachment } from './event-router.js';

/** A session's state as kept here: the same fields, some of them shared and frozen (see storedCopy). */
type StoredState = Readonly<Omit<SessionState, 'doneAbove' | 'cursors'>> & {
  readonly doneAbove: readonly number[];
  readonly cursors: Readonly<SessionState['cursors']>;
};

/** A stored session: its state, its kept replies by seq (created with the first one), and its holder. */
interface StoredSession {
  state: StoredState;
  replies: Map<number, KeptReply> | undefined;
  /** The instance that created or last took the session: it hears of a takeover. */
  holder: Attachment;
}

const NO_SEQS: readonly number[] = Object.freeze([]);
const NO_CURSORS: Readonly<SessionState['cursors']> = Object.freeze({});

const seqsCopy = (seqs: readonly number[]): readonly number[] => (seqs.length === 0 ? NO_SEQS : [...seqs]);

/** `stored` with `patch` applied (null removes a cursor), sharing the frozen empty table when nothing is left. */
function patchedCursors(stored: Readonly<SessionState['cursors']>, patch: Record<string, Cursor | null>): Readonly<SessionState['cursors']> {
  const cursors: SessionState['cursors'] = { ...stored };
  for (const topic of Object.keys(patch)) {
    const cursor = patch[topic];
    if (cursor === null || cursor === undefined) delete cursors[topic];
    else cursors[topic] = { epoch: cursor.epoch, offset: cursor.offset };
  }
  for (const _ in cursors) return cursors;
  return NO_CURSORS;
}

/**
 * The store's own copy of a session record, kept for the session's life (one per connection).
 * Strings are shared, not copied as structuredClone would (they are immutable; the id and the
 * resume token's hash alone are 120 B), and an empty list or cursor table is one frozen value
 * for all. Replies hold application data, so they are cloned in full.
 */
function storedCopy(state: SessionState): StoredState {
  return {
    id: state.id,
    identity: state.identity,
    tokenHash: state.tokenHash,
    ...(state.previousTokenHash === undefined ? {} : { previousTokenHash: state.previousTokenHash }),
    expiresAt: state.expiresAt,
    version: state.version,
    lastSeq: state.lastSeq,
    doneAbove: seqsCopy(state.doneAbove),
    cursors: patchedCursors(NO_CURSORS, state.cursors),
  };
}

/** The memory store's sessions: states and kept replies, copied in and out, each at a version. */
export class SessionMap {
  private readonly sessions = new Map<string, StoredSession>();

  create(state: SessionState, holder: Attachment): boolean {
    if (this.sessions.has(state.id)) return false;
    this.sessions.set(state.id, { state: storedCopy(state), replies: undefined, holder });
    return true;
  }

  /** The new version and the previous holder, or undefined when the session is not at `version`. */
  take(id: string, version: number, change: SessionTakeover, holder: Attachment): { version: number; previous: Attachment } | undefined {
    const stored = this.sessions.get(id);
    if (stored === undefined || stored.state.version !== version) return undefined;
    const { previousTokenHash: _, ...state } = stored.state;
    stored.state = {
      ...state,
      tokenHash: change.tokenHash,
      ...(change.previousTokenHash === undefined ? {} : { previousTokenHash: change.previousTokenHash }),
      expiresAt: change.expiresAt,
      version: version + 1,
    };
    const previous = stored.holder;
    stored.holder = holder;
    return { version: version + 1, previous };
  }

  save(updates: SessionUpdate[]): boolean[] {
    // Copy everything first: a reply that cannot be cloned must not leave the batch half saved.
    const added = updates.map((update) => (update.addReplies === undefined ? undefined : structuredClone(update.addReplies)));
    return updates.map((update, i) => {
      const stored = this.sessions.get(update.id);
      if (stored === undefined || stored.state.version !== update.version) return false;
      const { expiresAt, ledger, cursors, removeReplies } = update;
      if (expiresAt !== undefined || ledger !== undefined || cursors !== undefined) {
        stored.state = {
          ...stored.state,
          ...(expiresAt === undefined ? {} : { expiresAt }),
          ...(ledger === undefined ? {} : { lastSeq: ledger.lastSeq, doneAbove: seqsCopy(ledger.doneAbove) }),
          ...(cursors === undefined ? {} : { cursors: patchedCursors(stored.state.cursors, cursors) }),
        };
      }
      const add = added[i];
      if (add !== undefined) for (const reply of add) (stored.replies ??= new Map()).set(reply.seq, reply);
      if (removeReplies !== undefined && stored.replies !== undefined) for (const seq of removeReplies) stored.replies.delete(seq);
      return true;
    });
  }

  load(id: string): SessionRecord | undefined {
    const stored = this.sessions.get(id);
    if (stored === undefined) return undefined;
    const replies = stored.replies === undefined ? [] : [...stored.replies.values()].sort((a, b) => a.seq - b.seq);
    // A full clone: the caller may change it (the stored copy shares frozen empty values).
    return structuredClone({ ...stored.state, replies }) as SessionRecord;
  }

  delete(id: string, version: number): void {
    if (this.sessions.get(id)?.state.version === version) this.sessions.delete(id);
  }

  /** Removes the sessions expired at `now`; returns how many. */
  sweep(now: number): number {
    let removed = 0;
    for (const [id, { state }] of this.sessions) {
      if (state.expiresAt <= now) {
        this.sessions.delete(id);
        removed++;
      }
    }
    return removed;
  }

  clear(): void {
    this.sessions.clear();
  }
}
