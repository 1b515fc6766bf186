import type { Clock, TimerHandle } from '../../src/protocol/clock.js';

interface FakeTimer {
  readonly id: number;
  at: number;
  readonly callback: () => void;
  readonly every: number | undefined;
}

/**
 * A deterministic Clock: time moves only through `advance`, and timers run in due order (ties in
 * creation order), each seeing `now()` equal to its due time.
 */
export class FakeClock implements Clock {
  private time: number;
  private nextId = 1;
  private readonly timers = new Map<number, FakeTimer>();
  private deferred: Array<() => void> = [];

  constructor(start = 1_000_000) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    return this.add(callback, ms, undefined);
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers.delete(handle as number);
  }

  setInterval(callback: () => void, ms: number): TimerHandle {
    return this.add(callback, ms, Math.max(1, ms));
  }

  clearInterval(handle: TimerHandle): void {
    this.timers.delete(handle as number);
  }

  /**
   * Work deferred to the end of the turn (the server's append and save batches). It also runs on
   * the event loop's next turn by itself, so a fake clock works with real sockets; `idle` runs it
   * without waiting for that.
   */
  defer(callback: () => void): void {
    this.deferred.push(callback);
    if (this.deferred.length === 1) setImmediate(() => this.runDeferred());
  }

  /**
   * Resolves once nothing is left to do without time moving: deferred work has run and the
   * promises it started (a memory store answers within the turn) have settled. Replaces counting
   * event-loop turns in tests.
   */
  async idle(): Promise<void> {
    let quiet = 0;
    for (let rounds = 0; rounds < 10_000; rounds++) {
      // One real turn: every microtask queued so far (store answers, awaits) settles before it.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.deferred.length > 0) {
        quiet = 0;
        this.runDeferred();
      } else if (++quiet === 2) return; // two turns with nothing deferred: what ran has settled
    }
    throw new Error('the clock never became idle: deferred work keeps deferring more');
  }

  private runDeferred(): void {
    const batch = this.deferred;
    this.deferred = [];
    for (const callback of batch) callback();
  }

  /** Timers waiting to fire. */
  get pending(): number {
    return this.timers.size;
  }

  /** Delays (from now) of the waiting timers, soonest first. */
  get pendingDelays(): number[] {
    return [...this.timers.values()].map((t) => t.at - this.time).sort((a, b) => a - b);
  }

  /** Moves time forward by `ms`, running every timer that falls due on the way. */
  advance(ms: number): void {
    const target = this.time + ms;
    for (;;) {
      const next = this.nextDue(target);
      if (next === undefined) break;
      this.time = next.at;
      if (next.every === undefined) this.timers.delete(next.id);
      else next.at += next.every;
      next.callback();
    }
    this.time = target;
  }

  private nextDue(limit: number): FakeTimer | undefined {
    let best: FakeTimer | undefined;
    for (const timer of this.timers.values()) {
      if (timer.at > limit) continue;
      if (best === undefined || timer.at < best.at || (timer.at === best.at && timer.id < best.id)) best = timer;
    }
    return best;
  }

  private add(callback: () => void, ms: number, every: number | undefined): number {
    const id = this.nextId++;
    this.timers.set(id, { id, at: this.time + Math.max(0, ms), callback, every });
    return id;
  }
}
