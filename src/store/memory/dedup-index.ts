/**
 * dedupKey → the offset it was appended at, until its expiry; oldest first. No object per key: the
 * map holds a key's position, and offsets and expiry times sit in plain number arrays at that
 * position. A store holds up to a million keys that each live for minutes, and an object (plus a
 * boxed expiry time) per key was garbage-collector work on every publish.
 */
export class DedupIndex {
  /** key → position: index into the arrays below plus `dropped`. */
  private readonly positions = new Map<string, number>();
  /** By position; undefined where a key was removed out of order (an expired one re-added, sweep). */
  private keys: Array<string | undefined> = [];
  private offsets: number[] = [];
  private expiries: number[] = [];
  /** Positions before the first array slot: removed from the front. */
  private dropped = 0;
  /** Index of the oldest slot still in use. */
  private head = 0;
  /** The key `find` looked up last and the position it found, until the index changes. */
  private lastKey: string | undefined;
  private lastPosition: number | undefined;

  /** `onForget` hears each key the index drops (expired by `sweep`, or evicted past `max`). */
  constructor(private readonly onForget?: (key: string) => void) {}

  get size(): number {
    return this.positions.size;
  }

  /** The offset `key` was appended at, if it is remembered and not expired at `now`. */
  find(key: string, now: number): number | undefined {
    const position = this.positions.get(key);
    // `add` right after a miss is the usual sequence: it reuses this lookup instead of probing a
    // map of up to a million keys again (a cache miss each; a measurable share of a publish).
    this.lastKey = key;
    this.lastPosition = position;
    if (position === undefined) return undefined;
    const i = position - this.dropped;
    return this.expiries[i]! > now ? this.offsets[i] : undefined;
  }

  /** Remembers `key` as the newest; past `max` keys the oldest is forgotten. */
  add(key: string, offset: number, expiresAt: number, max: number): void {
    const previous = key === this.lastKey ? this.lastPosition : this.positions.get(key);
    this.lastKey = undefined;
    if (previous !== undefined) this.keys[previous - this.dropped] = undefined;
    this.positions.set(key, this.dropped + this.keys.length);
    this.keys.push(key);
    this.offsets.push(offset);
    this.expiries.push(expiresAt);
    while (this.positions.size > max) this.removeOldest();
    this.skipHoles();
  }

  /**
   * Forgets the keys expired at `now`, oldest first, stopping at the first one still alive: keys
   * are added in time order with one window, so that is where expiry stops too, and a sweep costs
   * what expired, not the million keys held. A key with a longer TTL added earlier holds back the
   * expired ones behind it until it expires itself; they are already treated as absent by `find`,
   * and `add` still evicts them first at `max`. Returns how many were forgotten.
   */
  sweep(now: number): number {
    this.lastKey = undefined;
    let removed = 0;
    for (let i = this.head; i < this.keys.length; i++) {
      const key = this.keys[i];
      if (key === undefined) continue;
      if (this.expiries[i]! > now) break;
      this.positions.delete(key);
      this.keys[i] = undefined;
      this.onForget?.(key);
      removed++;
    }
    this.skipHoles();
    return removed;
  }

  clear(): void {
    this.lastKey = undefined;
    this.positions.clear();
    this.keys = [];
    this.offsets = [];
    this.expiries = [];
    this.dropped = 0;
    this.head = 0;
  }

  private removeOldest(): void {
    this.skipHoles();
    const key = this.keys[this.head];
    if (key === undefined) return;
    this.positions.delete(key);
    this.keys[this.head] = undefined;
    this.onForget?.(key);
  }

  /** Moves `head` past removed slots, and drops them from the arrays once they are half of them. */
  private skipHoles(): void {
    while (this.head < this.keys.length && this.keys[this.head] === undefined) this.head++;
    if (this.head < 1024 || this.head * 2 < this.keys.length) return;
    this.keys = this.keys.slice(this.head);
    this.offsets = this.offsets.slice(this.head);
    this.expiries = this.expiries.slice(this.head);
    this.dropped += this.head;
    this.head = 0;
  }
}

