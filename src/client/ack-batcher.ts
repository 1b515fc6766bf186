import type { Clock, TimerHandle } from '../protocol/clock.js';
import type { ClientAckFrame } from '../protocol/frames.js';

export interface AckBatcherOptions {
  /** ms an acknowledgement may wait for company. */
  delay: number;
  /** Pending acknowledgements that trigger an immediate flush. */
  batch: number;
}

/**
 * Batches client `ack` frames: per topic only the highest offset handed to the application (acks
 * are cumulative), plus the `seq`s of received `reply` frames. A frame goes out after `delay` ms or
 * once `batch` items are pending, whichever comes first, so a busy subscription does not cost one
 * frame per message. One timer for the whole batch, never one per message.
 */
export class AckBatcher {
  private readonly offsets = new Map<string, number>();
  private readonly replies = new Set<number>();
  private pending = 0;
  private timer: TimerHandle | undefined;

  /**
   * @param send writes the frame; returns false when no connection is open, and the items then
   * stay pending (replies are still owed to the server after a resume).
   */
  constructor(
    private readonly clock: Clock,
    private readonly options: AckBatcherOptions,
    private readonly send: (frame: ClientAckFrame) => boolean,
  ) {}

  /** Items waiting to be sent. */
  get size(): number {
    return this.pending;
  }

  /** `offset` of `topic` was handed to the application. */
  offset(topic: string, offset: number): void {
    const previous = this.offsets.get(topic);
    if (previous === undefined || offset > previous) this.offsets.set(topic, offset);
    this.added();
  }

  /** A `reply` with this `seq` arrived; the server may forget it. */
  reply(seq: number): void {
    this.replies.add(seq);
    this.added();
  }

  /** Sends everything pending now. Skipped (items kept) when no connection is open. */
  flush(): void {
    this.cancelTimer();
    if (this.offsets.size === 0 && this.replies.size === 0) return;
    const frame: ClientAckFrame = { type: 'ack' };
    if (this.offsets.size > 0) frame.offsets = Object.fromEntries(this.offsets);
    if (this.replies.size > 0) frame.replies = [...this.replies];
    if (!this.send(frame)) return;
    this.offsets.clear();
    this.replies.clear();
    this.pending = 0;
  }

  /**
   * Forgets offsets: after a disconnect the subscriptions send their positions in `sub`, which
   * carries the same information.
   */
  dropOffsets(): void {
    this.offsets.clear();
    this.recount();
  }

  /**
   * Forgets reply confirmations: in a new session the same `seq` names a different frame, so an
   * old confirmation would make the server drop a reply the client has not seen.
   */
  dropReplies(): void {
    this.replies.clear();
    this.recount();
  }

  dispose(): void {
    this.cancelTimer();
    this.offsets.clear();
    this.replies.clear();
    this.pending = 0;
  }

  private added(): void {
    this.pending += 1;
    if (this.pending >= this.options.batch) {
      this.flush();
    } else if (this.timer === undefined) {
      this.timer = this.clock.setTimeout(() => {
        this.timer = undefined;
        this.flush();
      }, this.options.delay);
    }
  }

  private recount(): void {
    this.pending = this.offsets.size + this.replies.size;
    if (this.pending === 0) this.cancelTimer();
  }

  private cancelTimer(): void {
    if (this.timer === undefined) return;
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
