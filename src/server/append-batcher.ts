import { isRefusal, type AppendEntry, type AppendResult, type Store } from '../store/types.js';

/** Called once per entry: with its result (an outcome or the store's refusal), or with the store's error. */
export type AppendSettle = (result: AppendResult | undefined, error?: unknown) => void;

/**
 * Group commit: every append asked for during one event-loop turn goes to the store as one batch.
 * Batches are handed to the store in order, and the store applies calls in order, so the order of
 * `add` calls is the order of offsets.
 */
export class AppendBatcher {
  // Side by side rather than an object per entry: the entries array is the batch handed to the store.
  private entries: AppendEntry[] = [];
  private settles: AppendSettle[] = [];
  private scheduled = false;

  /**
   * @param defer runs the flush once the turn's appends are in (the injected clock's `defer`).
   * @param settled runs after every entry of a batch was settled: the hub saves the sessions those
   * entries changed right then, instead of a turn later, so acks leave in the turn of the append.
   * @param appended is told each topic a batch appended to (retention is due for it).
   */
  constructor(
    private readonly store: Pick<Store, 'append'>,
    private readonly defer: (callback: () => void) => void,
    private readonly settled: () => void = () => undefined,
    private readonly appended: (topic: string) => void = () => undefined,
    private readonly onError: (error: unknown) => void = (error) => console.error('[holdfast]', error),
  ) {}

  add(entry: AppendEntry): Promise<AppendResult> {
    return new Promise((resolve, reject) => this.push(entry, (outcome, error) => (outcome === undefined ? reject(error) : resolve(outcome))));
  }

  /**
   * Like `add`, with a callback instead of a promise: called synchronously as the batch settles, so
   * everything the callbacks mark for saving is there when `settled` runs (and no promise per entry).
   */
  push(entry: AppendEntry, settle: AppendSettle): void {
    this.entries.push(entry);
    this.settles.push(settle);
    if (!this.scheduled) {
      this.scheduled = true;
      this.defer(() => this.flush());
    }
  }

  private flush(): void {
    this.scheduled = false;
    const { entries, settles } = this;
    if (entries.length === 0) return;
    this.entries = [];
    this.settles = [];
    const failed = (error: unknown): void => {
      for (const settle of settles) this.call(settle, undefined, error);
      this.settled();
    };
    try {
      this.store.append(entries).then((outcomes) => {
        let last: string | undefined;
        for (let i = 0; i < settles.length; i++) {
          const outcome = outcomes[i]!;
          const { topic } = entries[i]!;
          // Batches are mostly runs of one topic: told once per run.
          if (topic !== last && !isRefusal(outcome) && !outcome.duplicate) this.appended((last = topic));
          this.call(settles[i]!, outcome);
        }
        this.settled();
      }, failed);
    } catch (error) {
      failed(error); // a store that throws instead of rejecting must not take the process down
    }
  }

  /** One callback that throws must not leave the rest of its batch unsettled. */
  private call(settle: AppendSettle, outcome: AppendResult | undefined, error?: unknown): void {
    try {
      settle(outcome, error);
    } catch (thrown) {
      this.onError(thrown);
    }
  }
}
