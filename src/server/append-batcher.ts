import type { AppendEntry, AppendOutcome, Store } from '../store/types.js';

interface Pending {
  entry: AppendEntry;
  resolve: (outcome: AppendOutcome) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: every append asked for during one event-loop turn goes to the store as one batch.
 * Batches are handed to the store in order, and the store applies calls in order, so the order of
 * `add` calls is the order of offsets.
 */
export class AppendBatcher {
  private queue: Pending[] = [];
  private scheduled = false;

  constructor(private readonly store: Store) {}

  add(entry: AppendEntry): Promise<AppendOutcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ entry, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    const failed = (error: unknown) => batch.forEach((p) => p.reject(error));
    try {
      this.store.append(batch.map((p) => p.entry)).then((outcomes) => batch.forEach((p, i) => p.resolve(outcomes[i]!)), failed);
    } catch (error) {
      failed(error); // a store that throws instead of rejecting must not take the process down
    }
  }
}
