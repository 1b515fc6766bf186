import type { Session } from './session.js';

/**
 * Sessions whose connection closed, in the order they will expire. Every one expires `sessionTtl`
 * after its release, so release order is expiry order: the sweeper takes what is due from the
 * front, and a sweep costs the sessions that expired, not every session in memory. An entry whose
 * session was resumed (or released again, later) is stale and skipped.
 */
export class ExpiryQueue {
  private sessions: Session[] = [];
  private at: number[] = [];
  private head = 0;

  get size(): number {
    return this.sessions.length - this.head;
  }

  /** `session` was released: it expires at its `expiresAt`, not before any session released earlier. */
  add(session: Session, expiresAt: number): void {
    this.sessions.push(session);
    this.at.push(expiresAt);
  }

  /** Takes the sessions due at `now` whose entry is still current (not resumed or released again since). */
  takeDue(now: number): Session[] {
    const due: Session[] = [];
    while (this.head < this.sessions.length && this.at[this.head]! <= now) {
      const session = this.sessions[this.head]!;
      const at = this.at[this.head]!;
      this.head++;
      if (session.connection === null && session.expiresAt === at) due.push(session);
    }
    // Drop the taken front once it is half the arrays, so they never grow with everything ever released.
    if (this.head >= 1024 && this.head * 2 >= this.sessions.length) {
      this.sessions = this.sessions.slice(this.head);
      this.at = this.at.slice(this.head);
      this.head = 0;
    }
    return due;
  }
}
