import type { RequestClaim, RequestOutcome } from '../types.js';
import type { Attachment } from './event-router.js';
import { DedupIndex } from './dedup-index.js';

/** A request id's run: in progress until its lease, then done (with its outcome) or confirmed. */
interface RequestRun {
  state: 'running' | 'done' | 'confirmed';
  leaseUntil: number;
  expiresAt: number;
  outcome?: RequestOutcome;
  /** Instances whose claim answered `running`: they hear the outcome. */
  waiters?: Attachment[];
}

/**
 * The memory store's request runs by id. Expiry and the bound on how many are held go through a
 * DedupIndex of the ids (oldest first, see there), which drops a run when it drops its id: a sweep
 * costs what expired, and eviction past `max` never walks a Map's deleted slots.
 */
export class RequestTable {
  private readonly runs = new Map<string, RequestRun>();
  private readonly order = new DedupIndex((key) => this.runs.delete(key));

  constructor(private readonly max: number) {}

  claim(key: string, now: number, leaseMs: number, ttlMs: number, claimer: Attachment): RequestClaim {
    const run = this.live(key, now);
    if (run === undefined) {
      this.runs.set(key, { state: 'running', leaseUntil: now + leaseMs, expiresAt: now + ttlMs });
      this.order.add(key, 0, now + ttlMs, this.max);
      return { state: 'new' };
    }
    if (run.state === 'done') return { state: 'done', outcome: structuredClone(run.outcome!) };
    if (run.state === 'confirmed') return { state: 'confirmed' };
    if (run.leaseUntil <= now) return { state: 'lost' };
    if (run.waiters === undefined) run.waiters = [claimer];
    else if (!run.waiters.includes(claimer)) run.waiters.push(claimer);
    return { state: 'running' };
  }

  /** Extends the leases of runs still in progress; a lease that ran out stays out (it was reported lost). */
  renew(keys: string[], now: number, leaseMs: number): void {
    for (const key of keys) {
      const run = this.live(key, now);
      if (run?.state === 'running' && run.leaseUntil > now) run.leaseUntil = now + leaseMs;
    }
  }

  /** Records the outcome (a copy); returns the instances waiting for it. */
  complete(key: string, outcome: RequestOutcome, now: number, ttlMs: number): { outcome: RequestOutcome; waiters: Attachment[] | undefined } {
    const stored = structuredClone(outcome);
    const waiters = this.live(key, now)?.waiters;
    this.runs.set(key, { state: 'done', leaseUntil: now, expiresAt: now + ttlMs, outcome: stored });
    this.order.add(key, 0, now + ttlMs, this.max);
    return { outcome: stored, waiters };
  }

  confirm(keys: string[]): void {
    for (const key of keys) {
      const run = this.runs.get(key);
      if (run?.state !== 'done') continue;
      run.state = 'confirmed';
      delete run.outcome;
    }
  }

  /** Forgets the runs expired at `now`; returns how many. */
  sweep(now: number): number {
    return this.order.sweep(now);
  }

  clear(): void {
    this.order.clear();
    this.runs.clear();
  }

  /** The run of `key`, unless it expired (an expired run held back from the sweep counts as gone). */
  private live(key: string, now: number): RequestRun | undefined {
    const run = this.runs.get(key);
    return run === undefined || run.expiresAt <= now ? undefined : run;
  }
}
