import type { SafeObserver } from './observer.js';
import { isRefusal, type AppendEntry, type AppendResult, type Store } from '../store/types.js';

/** Called once per entry: with its result (an outcome or the store's refusal), or with the store's error. */
export type AppendSettle = (result: AppendResult | undefined, error?: unknown) => void;

/** Whose entry it is: a session, whose `generation` moves on when the store failed one of its frames. */
export interface AppendOwner {
  readonly generation: number;
}

/**
 * The error an entry is settled with when it was not sent at all: its owner's generation moved on
 * (the store failed an earlier frame of the same session), and storing it now would put it ahead
 * of that one.
 */
export class AppendCancelled extends Error {
  constructor() {
    super('not appended: the store failed an earlier frame of the same session');
  }
}

/**
 * Group commit: every append asked for during one event-loop turn goes to the store as one batch.
 * One batch is at the store at a time, and the next one (everything asked for meanwhile) is sent
 * when it settled: batches are applied in order, so the order of `add` calls is the order of
 * offsets; and when a batch fails, the entries of its sessions in the next one are not sent (see
 * AppendCancelled), so a session's frames are never stored out of their order.
 */
export class AppendBatcher {
  // Side by side rather than an object per entry: the entries array is the batch handed to the store.
  private entries: AppendEntry[] = [];
  private settles: AppendSettle[] = [];
  private owners: Array<AppendOwner | undefined> = [];
  private generations: number[] = [];
  private scheduled = false;
  private inFlight = false;

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
    /** Told each batch's latency and each duplicate, for metrics. */
    private readonly observer?: Pick<SafeObserver, 'storeOperation' | 'duplicateDropped'>,
  ) {}

  add(entry: AppendEntry): Promise<AppendResult> {
    return new Promise((resolve, reject) => this.push(entry, (outcome, error) => (outcome === undefined ? reject(error) : resolve(outcome))));
  }

  /**
   * Like `add`, with a callback instead of a promise: called synchronously as the batch settles, so
   * everything the callbacks mark for saving is there when `settled` runs (and no promise per entry).
   * With an `owner`, the entry is not sent if the owner's generation moved on from `generation`.
   */
  push(entry: AppendEntry, settle: AppendSettle, owner?: AppendOwner, generation = 0): void {
    this.entries.push(entry);
    this.settles.push(settle);
    this.owners.push(owner);
    this.generations.push(generation);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight) return;
    this.scheduled = true;
    this.defer(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    if (this.entries.length === 0) return;
    const { entries, settles } = this.admitted();
    if (entries.length === 0) return this.settled();
    this.inFlight = true;
    const done = (): void => {
      this.inFlight = false;
      this.settled();
      if (this.entries.length > 0) this.schedule();
    };
    // Wall time, not the injected clock: a latency is about the real store, also under a fake clock.
    const started = performance.now();
    const timed = (): void => this.observer?.storeOperation('append', performance.now() - started);
    const failed = (error: unknown): void => {
      timed();
      for (const settle of settles) this.call(settle, undefined, error);
      done();
    };
    try {
      this.store.append(entries).then((outcomes) => {
        timed();
        let last: string | undefined;
        for (let i = 0; i < settles.length; i++) {
          const outcome = outcomes[i]!;
          const { topic } = entries[i]!;
          // Batches are mostly runs of one topic: told once per run.
          if (topic !== last && !isRefusal(outcome) && !outcome.duplicate) this.appended((last = topic));
          if (!isRefusal(outcome) && outcome.duplicate) this.observer?.duplicateDropped();
          this.call(settles[i]!, outcome);
        }
        done();
      }, failed);
    } catch (error) {
      failed(error); // a store that throws instead of rejecting must not take the process down
    }
  }

  /** Takes the waiting entries; the ones whose owner moved on are settled as cancelled, not returned. */
  private admitted(): { entries: AppendEntry[]; settles: AppendSettle[] } {
    let { entries, settles } = this;
    const { owners, generations } = this;
    this.entries = [];
    this.settles = [];
    this.owners = [];
    this.generations = [];
    let cancelled = false;
    for (let i = 0; i < owners.length && !cancelled; i++) cancelled = owners[i] !== undefined && owners[i]!.generation !== generations[i];
    if (!cancelled) return { entries, settles };
    const kept: AppendEntry[] = [];
    const keptSettles: AppendSettle[] = [];
    for (let i = 0; i < entries.length; i++) {
      const owner = owners[i];
      if (owner !== undefined && owner.generation !== generations[i]) this.call(settles[i]!, undefined, new AppendCancelled());
      else {
        kept.push(entries[i]!);
        keptSettles.push(settles[i]!);
      }
    }
    entries = kept;
    settles = keptSettles;
    return { entries, settles };
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
