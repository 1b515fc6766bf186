import type { KeptReply, SessionRecord, SessionState, SessionUpdate } from '../types.js';

/** A session's state as kept here: the same fields, some of them shared and frozen (see storedCopy). */
type StoredState = Readonly<Omit<SessionState, 'doneAbove' | 'cursors'>> & {
  readonly doneAbove: readonly number[];
  readonly cursors: Readonly<SessionState['cursors']>;
};

/** A stored session: its state and its kept replies by seq (created with the first one). */
interface StoredSession {
  state: StoredState;
  replies: Map<number, KeptReply> | undefined;
}

const NO_SEQS: readonly number[] = Object.freeze([]);
const NO_CURSORS: Readonly<SessionState['cursors']> = Object.freeze({});

/**
 * The store's own copy of a session record, kept for the session's life (one per connection).
 * Strings are shared, not copied as structuredClone would (they are immutable; the id and the
 * resume token's hash alone are 120 B), and an empty list or cursor table is one frozen value
 * for all. Replies hold application data, so they are cloned in full.
 */
function storedCopy(state: SessionState): StoredState {
  const cursors = Object.entries(state.cursors);
  return {
    id: state.id,
    identity: state.identity,
    tokenHash: state.tokenHash,
    ...(state.previousTokenHash === undefined ? {} : { previousTokenHash: state.previousTokenHash }),
    expiresAt: state.expiresAt,
    lastSeq: state.lastSeq,
    doneAbove: state.doneAbove.length === 0 ? NO_SEQS : [...state.doneAbove],
    cursors: cursors.length === 0 ? NO_CURSORS : Object.fromEntries(cursors.map(([topic, { epoch, offset }]) => [topic, { epoch, offset }])),
  };
}

/** The memory store's sessions: states and kept replies, copied in and out. */
export class SessionMap {
  private readonly sessions = new Map<string, StoredSession>();

  save(updates: SessionUpdate[]): void {
    // Copy everything first: a reply that cannot be cloned must not leave the batch half saved.
    const copies = updates.map((update) => ({
      state: storedCopy(update.state),
      add: update.addReplies === undefined ? undefined : structuredClone(update.addReplies),
      remove: update.removeReplies,
    }));
    for (const { state, add, remove } of copies) {
      let stored = this.sessions.get(state.id);
      if (stored === undefined) this.sessions.set(state.id, (stored = { state, replies: undefined }));
      else stored.state = state;
      if (add !== undefined) for (const reply of add) (stored.replies ??= new Map()).set(reply.seq, reply);
      if (remove !== undefined && stored.replies !== undefined) for (const seq of remove) stored.replies.delete(seq);
    }
  }

  load(id: string): SessionRecord | undefined {
    const stored = this.sessions.get(id);
    if (stored === undefined) return undefined;
    const replies = stored.replies === undefined ? [] : [...stored.replies.values()].sort((a, b) => a.seq - b.seq);
    // A full clone: the caller may change it (the stored copy shares frozen empty values).
    return structuredClone({ ...stored.state, replies }) as SessionRecord;
  }

  delete(id: string): void {
    this.sessions.delete(id);
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
