import type { KeptReply } from '../store/types.js';
import type { Session } from './session.js';

export type Outcome = Omit<KeptReply, 'seq' | 'id'>;

interface Entry {
  session: Session;
  outcome: Promise<Outcome>;
}

/**
 * Requests by their identity-scoped id while their reply may still be wanted, so that a request
 * resent into a new session (its first session's token was lost with a `welcome`, say) gets the
 * first run's reply instead of running again. An entry lives until the client confirms the reply
 * or the session that ran it ends.
 */
export class RequestRegistry {
  private readonly byKey = new Map<string, Entry>();

  /** The outcome of an earlier run of this request, if this node knows it. */
  find(key: string): Promise<Outcome> | undefined {
    return this.byKey.get(key)?.outcome;
  }

  /** Registers a run; call the returned function with its outcome. */
  begin(key: string, session: Session): (outcome: Outcome) => void {
    let settle!: (outcome: Outcome) => void;
    const outcome = new Promise<Outcome>((resolve) => (settle = resolve));
    this.byKey.set(key, { session, outcome });
    return settle;
  }

  forget(key: string): void {
    this.byKey.delete(key);
  }

  /** The session ended: its requests' replies can no longer be asked for through it. */
  forgetSession(session: Session, keys: Iterable<string>): void {
    for (const key of keys) if (this.byKey.get(key)?.session === session) this.byKey.delete(key);
  }

  get size(): number {
    return this.byKey.size;
  }
}
