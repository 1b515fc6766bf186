import type { Clock, TimerHandle } from '../protocol/clock.js';
import { ErrorCode } from '../protocol/codes.js';
import { HoldfastError } from '../protocol/errors.js';

/**
 * A reliable publish as kept across page loads: what is needed to send it again with the same id,
 * so that the server drops it if the earlier page's copy already arrived.
 */
export interface StoredPublish {
  /** The message id; the server's de-duplication key (with the identity) for `dedupWindow`. */
  id: string;
  topic: string;
  data: unknown;
  key?: string;
  /** When it was published: `clock.now()`, ms since the epoch. */
  time: number;
}

/**
 * Where the client keeps unconfirmed reliable publishes so that a page reload (or a crash of a
 * Node process) does not lose them. `indexedDbOutbox()` is the browser's; an application may
 * write its own (localStorage, a file, a test double). Requests are not kept: after a reload no
 * caller is left to receive their replies.
 */
export interface OutboxStorage {
  /** What an earlier client left unconfirmed, oldest first. Called once, before anything is sent. */
  load(): Promise<StoredPublish[]>;
  /** Keeps `put` and forgets `remove` (ids), in that order, ideally in one transaction. */
  write(changes: { put: StoredPublish[]; remove: string[] }): Promise<void>;
}

/** How long a client waits for its outbox storage to load before it sends without what it held. */
export const LOAD_TIMEOUT_MS = 5000;

/**
 * Writes outbox changes to an OutboxStorage in batches: everything one turn of the event loop
 * changed goes in one `write`, and writes never overlap, so a removal cannot overtake the put it
 * removes. A publish confirmed before its batch was written is never written at all.
 */
export class OutboxPersistence {
  private puts = new Map<string, StoredPublish>();
  private removals = new Set<string>();
  private scheduled = false;
  private written: Promise<void> = Promise.resolve();

  constructor(
    private readonly storage: OutboxStorage,
    private readonly reportError: (error: HoldfastError) => void,
  ) {}

  /**
   * The earlier client's publishes; those older than `maxAge` are dropped (reported as one
   * OUTBOX_EXPIRED error): the server may have forgotten their ids, so a resend could store a
   * second copy. A storage that fails to load reports OUTBOX_STORAGE_FAILED and restores nothing.
   * One that takes longer than LOAD_TIMEOUT_MS (an IndexedDB blocked by another tab's upgrade) is
   * reported the same way and the outbox goes on without it: what it answers later goes to `late`.
   */
  async load(clock: Clock, maxAge: number, late: (publishes: StoredPublish[]) => void): Promise<StoredPublish[]> {
    // A storage that throws instead of rejecting is a failed load too, not a stuck outbox.
    const loading = Promise.resolve().then(() => this.storage.load());
    // Writes wait for the load (it must not read back what this client stored meanwhile), but not
    // for a load that timed out: then the writes are what keeps this page's publishes.
    let release!: () => void;
    this.written = new Promise((resolve) => (release = resolve));
    let timer: TimerHandle | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = clock.setTimeout(() => resolve('timeout'), LOAD_TIMEOUT_MS)));
    try {
      const outcome = await Promise.race([loading, timedOut]);
      if (outcome !== 'timeout') return this.fresh(outcome, clock.now(), maxAge);
      this.failed('load', new Error(`no answer within ${LOAD_TIMEOUT_MS} ms; publishing goes on without the stored publishes`));
      loading.then(
        (publishes) => late(this.fresh(publishes, clock.now(), maxAge)),
        (error: unknown) => this.failed('load', error),
      );
      return [];
    } catch (error) {
      this.failed('load', error);
      return [];
    } finally {
      clock.clearTimeout(timer);
      release();
    }
  }

  /**
   * Drops what is too old to resend safely. An age below zero means the clock went back; within
   * `maxAge` of now either way it is kept (NTP steps are small), beyond that it is as unknowable
   * as an old one.
   */
  private fresh(stored: StoredPublish[], now: number, maxAge: number): StoredPublish[] {
    const fresh = stored.filter((entry) => Math.abs(now - entry.time) <= maxAge);
    if (fresh.length < stored.length) {
      const expired = stored.filter((entry) => Math.abs(now - entry.time) > maxAge);
      for (const entry of expired) this.remove(entry.id);
      this.reportError(
        new HoldfastError(
          ErrorCode.OutboxExpired,
          `${expired.length} stored publish(es) older than outboxMaxAge (${maxAge} ms) were dropped: the server may no longer recognise them as duplicates`,
        ),
      );
    }
    return fresh;
  }

  put(entry: StoredPublish): void {
    this.puts.set(entry.id, entry);
    this.schedule();
  }

  remove(id: string): void {
    if (this.puts.delete(id)) return; // never written: nothing to forget
    this.removals.add(id);
    this.schedule();
  }

  /** Settles when every change made so far is written (or failed and was reported). */
  flushed(): Promise<void> {
    if (this.scheduled) this.flush();
    return this.written;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => this.flush());
  }

  private flush(): void {
    if (!this.scheduled) return;
    this.scheduled = false;
    const changes = { put: [...this.puts.values()], remove: [...this.removals] };
    this.puts = new Map();
    this.removals = new Set();
    if (changes.put.length === 0 && changes.remove.length === 0) return;
    this.written = this.written.then(
      () => this.storage.write(changes).catch((error: unknown) => this.failed('write', error)),
    );
  }

  private failed(what: 'load' | 'write', error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    // The publishes themselves go on in memory: only their survival of a reload is at risk.
    this.reportError(new HoldfastError(ErrorCode.OutboxStorageFailed, `outbox storage ${what} failed: ${message}`, { cause: error }));
  }
}
