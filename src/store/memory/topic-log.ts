import type { RetentionPolicy, StoredMessage } from '../types.js';

/** Slots wasted by trimming or compaction that a topic tolerates before its array is rebuilt. */
const MIN_WASTE_BEFORE_REBUILD = 1024;

/**
 * One topic's retained messages, in offset order. Removal never shifts the array: trimming moves
 * `start`, compaction leaves a hole, and the array is rebuilt only once the waste outweighs the
 * retained messages, so every removal is amortised O(1) and a read is a binary search.
 *
 * It also counts the bytes of what it retains (each message's size, as the store measured it), so
 * the store can bound its memory and get bytes back when messages go.
 */
export class TopicLog {
  head = 0;
  /** Sum of the sizes of the retained messages. */
  bytes = 0;

  /** The epoch of this topic's history: a forgotten topic starts a new one (see MemoryStore.trim). */
  constructor(readonly epoch: string) {}

  /** Retained messages from `start` on, ascending by offset; undefined where one was removed. */
  private slots: (StoredMessage | undefined)[] = [];
  /** The size of each slot's message, by the same index (a number array: no object per message). */
  private sizes: number[] = [];
  /** Index of the oldest retained message, or slots.length; never points at a hole. */
  private start = 0;
  private live = 0;
  /** Holes after `start`, left by compaction. */
  private holes = 0;
  /** Compaction key → slot index of the one retained message appended with that key. */
  private readonly keys = new Map<string, number>();

  get first(): number {
    return this.slots[this.start]?.offset ?? this.head + 1;
  }

  /** `time` of the oldest retained message; undefined when none is retained. */
  get oldest(): number | undefined {
    return this.slots[this.start]?.time;
  }

  get size(): number {
    return this.live;
  }

  /** How many keys a compacted topic holds. */
  get keyCount(): number {
    return this.keys.size;
  }

  /** The size of the message a compacted append with `key` replaces; undefined for a new key. */
  sizeOfKey(key: string): number | undefined {
    const index = this.keys.get(key);
    return index === undefined ? undefined : this.sizes[index];
  }

  push(message: StoredMessage, compact: boolean, size: number): void {
    // Before any index is taken: a rebuild renumbers the slots.
    this.maybeRebuild();
    if (compact) {
      const key = message.key ?? '';
      const previous = this.keys.get(key);
      if (previous !== undefined) this.removeAt(previous);
      this.keys.set(key, this.slots.length);
    }
    this.slots.push(message);
    this.sizes.push(size);
    this.live++;
    this.bytes += size;
    this.head = message.offset;
  }

  /** Up to `limit` messages after `afterOffset`; with `maxBytes`, stops after the one that takes the total past it. */
  read(afterOffset: number, limit: number, maxBytes = Infinity): StoredMessage[] {
    const messages: StoredMessage[] = [];
    let bytes = 0;
    for (let i = this.indexAfter(afterOffset); i < this.slots.length && messages.length < limit && bytes <= maxBytes; i++) {
      const message = this.slots[i];
      if (message === undefined) continue;
      messages.push(message);
      bytes += this.sizes[i]!;
    }
    return messages;
  }

  /** Drops the oldest messages the policy does not keep; age is judged by `time`, oldest first. */
  trim(policy: RetentionPolicy, now: number): number {
    let removed = 0;
    if (policy.maxCount !== undefined) {
      const keep = Math.max(0, policy.maxCount);
      while (this.live > keep) {
        this.dropOldest();
        removed++;
      }
    }
    if (policy.maxAgeMs !== undefined) {
      const cutoff = now - policy.maxAgeMs;
      // Times only grow with offsets (one clock), so the first young message ends the scan.
      for (let oldest = this.slots[this.start]; oldest !== undefined && oldest.time < cutoff; oldest = this.slots[this.start]) {
        this.dropOldest();
        removed++;
      }
    }
    this.maybeRebuild();
    return removed;
  }

  private dropOldest(): void {
    const oldest = this.slots[this.start];
    if (oldest?.key !== undefined && this.keys.get(oldest.key) === this.start) this.keys.delete(oldest.key);
    this.removeAt(this.start);
  }

  private removeAt(index: number): void {
    this.slots[index] = undefined;
    this.bytes -= this.sizes[index]!;
    this.live--;
    if (index !== this.start) {
      this.holes++;
      return;
    }
    this.start++;
    while (this.start < this.slots.length && this.slots[this.start] === undefined) {
      this.start++;
      this.holes--;
    }
  }

  /** First index i such that every retained message at or after i has an offset > afterOffset. */
  private indexAfter(afterOffset: number): number {
    let lo = this.start;
    let hi = this.slots.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      let probe = mid;
      while (probe < hi && this.slots[probe] === undefined) probe++;
      const offset = this.slots[probe]?.offset;
      // No retained message in [mid, hi): mid behaves like hi, which already satisfies the condition.
      if (probe === hi || offset === undefined || offset > afterOffset) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  private maybeRebuild(): void {
    const waste = this.start + this.holes;
    if (waste < MIN_WASTE_BEFORE_REBUILD || waste < this.live) return;
    const kept: StoredMessage[] = [];
    const sizes: number[] = [];
    for (let i = this.start; i < this.slots.length; i++) {
      const message = this.slots[i];
      if (message === undefined) continue;
      if (message.key !== undefined && this.keys.get(message.key) === i) this.keys.set(message.key, kept.length);
      kept.push(message);
      sizes.push(this.sizes[i]!);
    }
    this.slots = kept;
    this.sizes = sizes;
    this.start = 0;
    this.holes = 0;
  }
}
