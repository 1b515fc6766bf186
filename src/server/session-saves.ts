import type { Store, SessionUpdate } from '../store/types.js';
import type { Session } from './session.js';

export interface SessionSavesOptions<S extends Session> {
  store: Pick<Store, 'saveSessions'>;
  now: () => number;
  /** Runs a callback once the current turn's work is done (the injected clock's `defer`). */
  defer: (callback: () => void) => void;
  sessionTtl: number;
  onError: (error: unknown) => void;
  /** The store refused a save: another holding took the session over. */
  replaced: (session: S) => void;
}

/**
 * Session writes, batched: every session changed during one turn goes to the store in one
 * `saveSessions` call, each as an update of what changed (SessionUpdate). Once saved, each
 * session's AckPath sends what the saved record vouches for. A failed save is kept and tried
 * again (the sweeper calls `retry`), and nothing is told to the client until it succeeds.
 */
export class SessionSaves<S extends Session = Session> {
  private readonly dirty = new Set<S>();
  private readonly waiters: Array<() => void> = [];
  private scheduled = false;
  private closing = false;

  constructor(private readonly options: SessionSavesOptions<S>) {}

  /** Saves `session`'s changes soon, with every other session changed this turn. */
  request(session: S): void {
    if (this.closing || session.replaced) return; // close() saves everything once, before the store goes away
    this.dirty.add(session);
    this.schedule();
  }

  /** Resolves once the sessions requested so far are saved (or their save failed and will be retried). */
  saved(): Promise<void> {
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.schedule();
    });
  }

  /**
   * Saves now what an append batch just changed: waiting for the next turn would hold every ack of
   * the batch back by one turn, for no durability gained.
   */
  flushNow(): void {
    if (this.dirty.size === 0 || this.closing) return;
    this.flush().catch(this.options.onError);
  }

  /** Called by the sweeper: a save that failed is tried again. */
  retry(): void {
    if (this.dirty.size > 0 || this.waiters.length > 0) this.schedule();
  }

  /** The hub is closing: one last save of these sessions; nothing is requested after it. */
  async close(sessions: Iterable<S>): Promise<void> {
    this.closing = true;
    this.dirty.clear();
    const now = this.options.now();
    const updates: SessionUpdate[] = [];
    for (const session of sessions) if (!session.replaced && session.changed) updates.push(session.takeUpdate(now, this.options.sessionTtl));
    if (updates.length > 0) await this.options.store.saveSessions(updates).catch(this.options.onError);
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.options.defer(() => {
      this.scheduled = false;
      this.flush().catch(this.options.onError);
    });
  }

  private async flush(): Promise<void> {
    const { options } = this;
    const waiters = this.waiters.splice(0);
    const sessions = [...this.dirty].filter((session) => !session.replaced);
    this.dirty.clear();
    const now = options.now();
    const updates = sessions.map((session) => session.takeUpdate(now, options.sessionTtl));
    let applied: boolean[];
    try {
      applied = updates.length > 0 ? await options.store.saveSessions(updates) : [];
    } catch (error) {
      options.onError(error);
      sessions.forEach((session, i) => {
        session.restoreUpdate(updates[i]!);
        this.dirty.add(session);
      });
      this.waiters.push(...waiters);
      return;
    }
    sessions.forEach((session, i) => {
      const update = updates[i]!;
      if (applied[i] === true) return session.acks.durable(update);
      if (session.replaced) return;
      if (update.version === session.version) return options.replaced(session);
      // This node took the session over (a resume) while the save was under way: the changes are
      // written again under the new version.
      session.restoreUpdate(update);
      this.request(session);
    });
    for (const resolve of waiters) resolve();
  }
}
