/**
 * Cluster workload 4, the load side (bench/lib/cluster.ts runs it). `FailoverClients`: this load
 * process's share of the clients, all connected through the balancer to the node that will be
 * killed, each subscribed to one topic and reconnecting by its system's own policy. It records,
 * per client, when it came back, when it got a message published after that, and when it had
 * everything without a gap up to such a message; at the end it counts what never arrived.
 * `FailoverPublisher`: numbered messages at a fixed rate on the surviving node, each confirmed.
 *
 * Times are wall-clock milliseconds (`performance.timeOrigin + performance.now()`): the kill, the
 * publishes and the deliveries happen in different processes of one machine.
 */
import type { BenchClient, Driver } from '../drivers/types.js';
import { countInto } from '../lib/ipc.js';
import { openInBatches, sleep, withTimeout } from './common.js';

export const wallNow = (): number => performance.timeOrigin + performance.now();

/** A failover message: its number, when it was published (wall clock), padding. */
export interface Numbered {
  n: number;
  w: number;
  pad: string;
}
const isNumbered = (value: unknown): value is Numbered =>
  typeof value === 'object' && value !== null && typeof (value as Numbered).n === 'number' && typeof (value as Numbered).w === 'number';

/** What one load process saw, for the orchestrator to add up. */
export interface FailoverShare {
  clients: number;
  onKilledNode: number;
  reconnected: number;
  recovered: number;
  /**
   * Latest reconnect / first-live / complete wall time among the clients on the killed node; null
   * when some client never got there, or none was on the killed node (NaN would not survive IPC).
   */
  lastReconnectAt: number | null;
  lastReceivingAt: number | null;
  lastCompleteAt: number | null;
  /** Each complete client's time from the kill, ms (for the median). */
  completeMs: number[];
  /** Each reconnected client's time from the kill, ms (for the median). */
  reconnectMs: number[];
  /** Connection attempts after the kill (a first try that failed makes more than one per client). */
  attempts: number;
  complete: number;
  lost: number;
  clientsWithLosses: number;
  duplicates: number;
  errors: Record<string, number>;
}

interface Tracked {
  client?: BenchClient;
  seen: Uint8Array;
  /** Lowest message number not received yet. */
  next: number;
  lostConnection: boolean;
  reconnectedAt?: number;
  recovered?: boolean;
  receivingAt?: number;
  completeAt?: number;
  duplicates: number;
}

export class FailoverClients {
  private readonly tracked: Tracked[] = [];
  /** Publish time of each message number, as carried by the messages. */
  private readonly publishedAt: Float64Array;
  private killedAt: number | undefined;
  private attempts = 0;
  readonly errors: Record<string, number> = {};

  constructor(
    private readonly driver: Driver,
    private readonly url: string,
    private readonly count: number,
    /** The most messages the run can publish (the per-client bitmaps are this long). */
    private readonly capacity: number,
  ) {
    this.publishedAt = new Float64Array(capacity);
  }

  async open(batch: number, topic: string): Promise<{ opened: number; failed: number; ms: number }> {
    return openInBatches(
      this.count,
      batch,
      async (index) => {
        const state: Tracked = { seen: new Uint8Array(this.capacity), next: 0, lostConnection: false, duplicates: 0 };
        this.tracked[index] = state;
        const client = await withTimeout(
          this.driver.connect({
            url: this.url,
            clientId: `failover-${process.pid}-${index}`,
            autoReconnect: true,
            resubscribe: true,
            hooks: {
              attempt: () => {
                if (this.killedAt !== undefined) this.attempts++;
              },
              open: (resumed) => this.opened(state, resumed),
              lost: () => this.lost(state),
            },
          }),
          20_000,
          `${this.driver.id} connect`,
        );
        state.client = client;
        await withTimeout(
          client.subscribe(topic, (payload) => this.receive(state, payload)),
          20_000,
          'subscribe',
        );
      },
      this.errors,
    );
  }

  /** The node was SIGKILLed at `at` (wall clock). */
  killed(at: number): void {
    this.killedAt = at;
  }

  /**
   * Waits until every client that lost its connection is complete, or has received live messages
   * for `gapMs` without its gap being filled (a system that does not recover never fills it), or
   * `timeoutMs`.
   */
  async settle(timeoutMs: number, gapMs = 2000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    // Give the kill a moment to reach every client before judging who lost its connection.
    await sleep(500);
    const settled = (state: Tracked): boolean =>
      !state.lostConnection || state.completeAt !== undefined || (state.receivingAt !== undefined && wallNow() - state.receivingAt > gapMs);
    while (performance.now() < deadline) {
      if (this.tracked.every(settled)) return;
      await sleep(20);
    }
  }

  /**
   * The publisher stopped after `published` messages, of which `unacknowledged` were never
   * confirmed: wait up to `graceMs` for the confirmed ones still on their way, then count.
   */
  async tally(published: number, unacknowledged: number[], graceMs: number): Promise<FailoverShare> {
    const confirmed = (n: number): boolean => !unackedSet.has(n);
    const unackedSet = new Set(unacknowledged);
    const missing = (state: Tracked): number => {
      let count = 0;
      for (let n = state.next; n < Math.min(published, this.capacity); n++) if (state.seen[n] !== 1 && confirmed(n)) count++;
      return count;
    };
    const deadline = performance.now() + graceMs;
    while (performance.now() < deadline && this.tracked.some((state) => missing(state) > 0)) await sleep(50);
    if (published > this.capacity) countInto(this.errors, `${published - this.capacity} messages past the bitmaps`);
    const onKilled = this.tracked.filter((state) => state.lostConnection);
    const latest = (pick: (state: Tracked) => number | undefined): number | null => {
      let last = -Infinity;
      for (const state of onKilled) {
        const at = pick(state);
        if (at === undefined) return null;
        last = Math.max(last, at);
      }
      return onKilled.length === 0 ? null : last;
    };
    let lost = 0;
    let clientsWithLosses = 0;
    for (const state of this.tracked) {
      const count = missing(state);
      lost += count;
      if (count > 0) clientsWithLosses++;
    }
    const killedAt = this.killedAt ?? NaN;
    const completeMs = onKilled.flatMap((state) => (state.completeAt === undefined ? [] : [state.completeAt - killedAt]));
    return {
      clients: this.count,
      onKilledNode: onKilled.length,
      reconnected: onKilled.filter((state) => state.reconnectedAt !== undefined).length,
      recovered: onKilled.filter((state) => state.recovered === true).length,
      lastReconnectAt: latest((state) => state.reconnectedAt),
      lastReceivingAt: latest((state) => state.receivingAt),
      lastCompleteAt: latest((state) => state.completeAt),
      completeMs,
      reconnectMs: onKilled.flatMap((state) => (state.reconnectedAt === undefined ? [] : [state.reconnectedAt - killedAt])),
      attempts: this.attempts,
      complete: completeMs.length,
      lost,
      clientsWithLosses,
      duplicates: this.tracked.reduce((sum, state) => sum + state.duplicates, 0),
      errors: this.errors,
    };
  }

  close(): void {
    for (const state of this.tracked) state?.client?.close();
  }

  private opened(state: Tracked, resumed: boolean | undefined): void {
    if (this.killedAt === undefined || !state.lostConnection || state.reconnectedAt !== undefined) return;
    state.reconnectedAt = wallNow();
    state.recovered = resumed === true;
  }

  private lost(state: Tracked): void {
    if (this.killedAt === undefined) return; // only losses caused by the kill
    state.lostConnection = true;
  }

  private receive(state: Tracked, payload: unknown): void {
    if (!isNumbered(payload) || payload.n >= this.capacity) return countInto(this.errors, 'unexpected message');
    const { n } = payload;
    this.publishedAt[n] = payload.w;
    if (state.seen[n] === 1) {
      state.duplicates++;
      return;
    }
    state.seen[n] = 1;
    while (state.next < this.capacity && state.seen[state.next] === 1) state.next++;
    const back = state.reconnectedAt;
    if (back === undefined) return;
    const now = wallNow();
    if (state.receivingAt === undefined && payload.w >= back) state.receivingAt = now;
    // Complete: every message without a gap up to one published after the client came back.
    if (state.completeAt === undefined && state.next > 0 && this.publishedAt[state.next - 1]! >= back) state.completeAt = now;
  }
}

/** Numbered messages at `ratePerSecond`, each awaiting its confirmation, until stopped. */
export class FailoverPublisher {
  private client: BenchClient | undefined;
  private timer: NodeJS.Timeout | undefined;
  private sent = 0;
  private readonly acknowledged = new Set<number>();
  private outstanding = 0;
  readonly errors: Record<string, number> = {};

  constructor(
    private readonly driver: Driver,
    private readonly url: string,
  ) {}

  async start(topic: string, ratePerSecond: number, payloadBytes: number, capacity: number): Promise<void> {
    this.client = await withTimeout(this.driver.connect({ url: this.url, clientId: `failover-publisher-${process.pid}` }), 20_000, 'publisher connect');
    const client = this.client;
    const started = performance.now();
    const pad = 'x'.repeat(Math.max(0, payloadBytes - 40));
    this.timer = setInterval(() => {
      const due = Math.min(capacity, Math.floor(((performance.now() - started) * ratePerSecond) / 1000) + 1);
      while (this.sent < due) {
        const n = this.sent++;
        this.outstanding++;
        client
          .publish(topic, { n, w: wallNow(), pad } satisfies Numbered)
          .then(
            () => void this.acknowledged.add(n),
            (error: unknown) => countInto(this.errors, `publish: ${String(error).slice(0, 60)}`),
          )
          .finally(() => this.outstanding--);
      }
    }, 5);
  }

  /** Stops publishing; waits up to `graceMs` for the confirmations still on their way. */
  async stop(graceMs: number): Promise<{ published: number; acknowledged: number; unacknowledged: number[]; errors: Record<string, number> }> {
    clearInterval(this.timer);
    const deadline = performance.now() + graceMs;
    while (this.outstanding > 0 && performance.now() < deadline) await sleep(20);
    const unacknowledged: number[] = [];
    for (let n = 0; n < this.sent; n++) if (!this.acknowledged.has(n)) unacknowledged.push(n);
    return { published: this.sent, acknowledged: this.acknowledged.size, unacknowledged, errors: this.errors };
  }

  close(): void {
    clearInterval(this.timer);
    this.client?.close();
  }
}
