/**
 * Reconnect timing: full-jitter exponential backoff with attempt and time limits.
 *
 * Pure: no timers and no clock of its own. The caller passes `now` and schedules the delay, so the
 * whole schedule is testable without waiting.
 */

export interface BackoffOptions {
  /** Upper bound of the first delay, in ms; doubles with every attempt. */
  initialDelay: number;
  /** Upper bound of any delay, in ms (before a server `retryAfter` is added). */
  maxDelay: number;
  /** Retries allowed in one series of failures. */
  maxAttempts: number;
  /** ms since the connection was lost after which no new retry is scheduled. */
  maxElapsed: number;
  /** ms a connection must stay open for the next loss to start a fresh series. */
  resetAfter: number;
}

export interface RetryHint {
  /** The server's `retryAfter` (ms) from the `error` frame right before the close. */
  retryAfter?: number | undefined;
  /** Skip the jitter: the link was found dead, so nothing suggests the server is overloaded. */
  immediate?: boolean | undefined;
}

export type RetryPlan =
  | { retry: true; attempt: number; delay: number }
  | { retry: false; reason: string };

/**
 * Full jitter (AWS architecture blog, "Exponential Backoff And Jitter"): uniformly random in
 * [0, min(maxDelay, initialDelay × 2^(attempt−1))), so thousands of clients that lost the same server
 * spread their returns instead of arriving together.
 */
export function fullJitterDelay(
  attempt: number,
  options: Pick<BackoffOptions, 'initialDelay' | 'maxDelay'>,
  random: () => number,
): number {
  const ceiling = Math.min(options.maxDelay, options.initialDelay * 2 ** Math.max(0, attempt - 1));
  return random() * ceiling;
}

/**
 * The attempt counter of one series of failures. A series starts at the first loss and ends when a
 * connection has stayed open for `resetAfter` ms; a connection that drops sooner (a server that
 * accepts and then closes at once) keeps counting, so it cannot cause a tight reconnect loop.
 */
export class Backoff {
  private attemptCount = 0;
  private seriesStart: number | undefined;
  private openedAt: number | undefined;

  constructor(
    private readonly options: BackoffOptions,
    private readonly random: () => number,
  ) {}

  /** Retries made in the current series (0 when none). */
  get attempt(): number {
    return this.attemptCount;
  }

  /** When the current series started (the first loss), or undefined outside a series. */
  get lostAt(): number | undefined {
    return this.seriesStart;
  }

  /** A connection became usable (welcome received). */
  connected(now: number): void {
    this.openedAt = now;
  }

  /** A connection was lost or an attempt failed. Call once per loss, before `next`. */
  lost(now: number): void {
    // Stability is judged lazily at the loss, so no timer is needed to reset the counter.
    if (this.openedAt !== undefined && now - this.openedAt >= this.options.resetAfter) this.reset();
    this.openedAt = undefined;
    this.seriesStart ??= now;
  }

  /** Plans the next retry, counting it, or says the limits are reached. */
  next(now: number, hint: RetryHint = {}): RetryPlan {
    const { maxAttempts, maxElapsed } = this.options;
    if (this.attemptCount >= maxAttempts) {
      return { retry: false, reason: `gave up after ${this.attemptCount} reconnect attempts` };
    }
    const elapsed = now - (this.seriesStart ?? now);
    // Checked when scheduling only: a retry already planned may end a little after maxElapsed,
    // which keeps the server's retryAfter intact instead of cutting it short.
    if (elapsed >= maxElapsed) {
      return { retry: false, reason: `gave up after ${elapsed} ms without a connection` };
    }
    this.attemptCount += 1;
    const jitter = hint.immediate === true ? 0 : fullJitterDelay(this.attemptCount, this.options, this.random);
    return { retry: true, attempt: this.attemptCount, delay: (hint.retryAfter ?? 0) + jitter };
  }

  /** Ends the current series. */
  reset(): void {
    this.attemptCount = 0;
    this.seriesStart = undefined;
  }
}
