interface Due {
  readonly topic: string;
  at: number;
  /** Position in the heap array, kept up to date so a topic can be moved or removed in O(log n). */
  index: number;
}

/**
 * When each topic's age retention is next due: a min-heap by due time with one entry per topic,
 * so a sweep costs in proportion to the topics due, never to every topic the server has seen.
 */
export class RetentionSchedule {
  private readonly heap: Due[] = [];
  private readonly byTopic = new Map<string, Due>();

  /** Topics scheduled. */
  get size(): number {
    return this.byTopic.size;
  }

  has(topic: string): boolean {
    return this.byTopic.has(topic);
  }

  /** When `topic` is due, if it is scheduled. */
  dueAt(topic: string): number | undefined {
    return this.byTopic.get(topic)?.at;
  }

  /** Schedules `topic` at `at`, moving it if it was scheduled already. */
  set(topic: string, at: number): void {
    const known = this.byTopic.get(topic);
    if (known === undefined) {
      const due: Due = { topic, at, index: this.heap.length };
      this.byTopic.set(topic, due);
      this.heap.push(due);
      this.up(due.index);
      return;
    }
    const earlier = at < known.at;
    known.at = at;
    if (earlier) this.up(known.index);
    else this.down(known.index);
  }

  delete(topic: string): void {
    const due = this.byTopic.get(topic);
    if (due === undefined) return;
    this.byTopic.delete(topic);
    const last = this.heap.pop()!;
    if (last === due) return;
    last.index = due.index;
    this.heap[due.index] = last;
    this.up(last.index);
    this.down(last.index);
  }

  /**
   * Takes up to `limit` topics due by `now`, soonest first, off the schedule (a trim puts them back
   * with their next due time).
   */
  takeDue(now: number, limit: number): string[] {
    const topics: string[] = [];
    while (topics.length < limit) {
      const first = this.heap[0];
      if (first === undefined || first.at > now) break;
      this.delete(first.topic);
      topics.push(first.topic);
    }
    return topics;
  }

  private up(index: number): void {
    const { heap } = this;
    const due = heap[index]!;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = heap[parentIndex]!;
      if (parent.at <= due.at) break;
      heap[index] = parent;
      parent.index = index;
      index = parentIndex;
    }
    heap[index] = due;
    due.index = index;
  }

  private down(index: number): void {
    const { heap } = this;
    const due = heap[index]!;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && heap[right]!.at < heap[left]!.at ? right : left;
      if (heap[child]!.at >= due.at) break;
      heap[index] = heap[child]!;
      heap[index]!.index = index;
      index = child;
    }
    heap[index] = due;
    due.index = index;
  }
}
