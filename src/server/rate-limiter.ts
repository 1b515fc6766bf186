/**
 * Token bucket for a connection's frame rate (and its topic creations). Refilled lazily from the clock, so it costs nothing
 * while a connection is quiet.
 */
export class RateLimiter {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.updatedAt = now;
  }

  /** Takes one token; returns 0 when allowed, otherwise the ms until the bucket is positive again. */
  take(now: number): number {
    this.refill(now);
    // Frames already read while reading was paused still count, but the debt is capped so that a
    // burst of them cannot stall the connection for longer than one burst's worth of time.
    this.tokens = Math.max(this.tokens - 1, -this.burst);
    return this.wait();
  }

  /** Takes a whole token if there is one, never going into debt: true when taken. */
  tryTake(now: number): boolean {
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Gives back a token taken by `tryTake` that was not needed after all. */
  refund(): void {
    this.tokens = Math.min(this.burst, this.tokens + 1);
  }

  /** ms until the bucket is positive again, taking nothing. */
  waitTime(now: number): number {
    this.refill(now);
    return this.wait();
  }

  private refill(now: number): void {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.updatedAt) * this.perSecond) / 1000);
    this.updatedAt = now;
  }

  private wait(): number {
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.perSecond);
  }
}
