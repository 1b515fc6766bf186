import type { Clock, TimerHandle } from '../../src/protocol/index.js';

interface Timer {
  id: number;
  at: number;
  callback: () => void;
  every?: number;
}

/** Deterministic time for tests: nothing fires until `advance` moves the clock past it. */
export class FakeClock implements Clock {
  private current: number;
  private nextId = 1;
  private readonly timers = new Map<number, Timer>();

  constructor(start = 1_000_000) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    this.timers.set(id, { id, at: this.current + Math.max(0, ms), callback });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers.delete(handle as number);
  }

  setInterval(callback: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    const every = Math.max(1, ms);
    this.timers.set(id, { id, at: this.current + every, callback, every });
    return id;
  }

  clearInterval(handle: TimerHandle): void {
    this.timers.delete(handle as number);
  }

  /** Number of timers waiting (useful to prove "one timer, not one per socket"). */
  pending(): number {
    return this.timers.size;
  }

  /** Moves time forward, firing due timers in order of their due time. */
  advance(ms: number): void {
    const end = this.current + ms;
    for (;;) {
      let next: Timer | undefined;
      for (const timer of this.timers.values()) if (timer.at <= end && (next === undefined || timer.at < next.at)) next = timer;
      if (next === undefined) break;
      this.current = next.at;
      if (next.every === undefined) this.timers.delete(next.id);
      else next.at += next.every;
      next.callback();
    }
    this.current = end;
  }
}
