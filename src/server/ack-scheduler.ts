import type { Clock, TimerHandle } from '../protocol/index.js';

export interface AckTarget {
  /** Sends the cumulative ack now. */
  flushAck(): void;
}

/**
 * Batches server acks for every connection with one timer: a connection's ack goes out when
 * `batch` frames are waiting or `delay` ms after the first one, whichever is first.
 */
export class AckScheduler {
  private readonly waiting = new Map<AckTarget, number>();
  private timer: TimerHandle | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly delay: number,
    private readonly batch: number,
    private readonly onError: (error: unknown) => void = (error) => console.error('[holdfast]', error),
    /** Told of every `ack` frame sent, for metrics: the one timer every session's AckPath already holds. */
    readonly ackSent: () => void = () => undefined,
  ) {}

  /** One more frame is processed for `target`. */
  note(target: AckTarget): void {
    const count = (this.waiting.get(target) ?? 0) + 1;
    if (count >= this.batch) {
      this.waiting.delete(target);
      target.flushAck();
      return;
    }
    this.waiting.set(target, count);
    if (this.timer === undefined) this.timer = this.clock.setTimeout(() => this.flushAll(), this.delay);
  }

  forget(target: AckTarget): void {
    this.waiting.delete(target);
  }

  flushAll(): void {
    this.timer = undefined;
    const targets = [...this.waiting.keys()];
    this.waiting.clear();
    // Runs on a timer: one target that throws must neither end the process nor starve the others.
    for (const target of targets) {
      try {
        target.flushAck();
      } catch (error) {
        this.onError(error);
      }
    }
  }

  stop(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.waiting.clear();
  }
}
