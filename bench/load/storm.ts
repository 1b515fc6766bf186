/**
 * Workload 6, the load side: `count` clients, each reconnecting by its own policy. The
 * orchestrator kills the server and starts it again; this side counts connection attempts in
 * 100 ms buckets from the kill on and reports when every client is connected again.
 */
import type { BenchClient, Driver } from '../drivers/types.js';
import { countInto } from '../lib/ipc.js';
import type { StormFigures } from '../lib/results.js';
import { openInBatches, sleep, withTimeout } from './common.js';

const BUCKET_MS = 100;

export class Storm {
  private readonly clients: BenchClient[] = [];
  private readonly up: boolean[] = [];
  private readonly resumedAfterKill: boolean[] = [];
  private upCount = 0;
  private killedAt: number | undefined;
  private restartedAt: number | undefined;
  private lastBackAt = 0;
  private attempts = 0;
  private readonly buckets: number[] = [];
  readonly errors: Record<string, number> = {};

  constructor(
    private readonly driver: Driver,
    private readonly url: string,
    private readonly count: number,
  ) {}

  async open(batch: number, topic: string): Promise<{ opened: number; failed: number; ms: number }> {
    return openInBatches(
      this.count,
      batch,
      async (index) => {
        const client = await withTimeout(
          this.driver.connect({
            url: this.url,
            clientId: `storm-${process.pid}-${index}`,
            autoReconnect: true,
            hooks: {
              attempt: () => this.attempt(),
              open: (resumed) => this.opened(index, resumed),
              lost: () => this.lost(index),
            },
          }),
          20_000,
          `${this.driver.id} connect`,
        );
        this.clients[index] = client;
        await withTimeout(client.subscribe(topic, () => undefined), 20_000, 'subscribe');
      },
      this.errors,
    );
  }

  /** The server was just killed: attempts count from now. */
  killed(): void {
    this.killedAt = performance.now();
  }

  /** The server listens again: wait until every client is back, or `timeoutMs`. */
  async restarted(downMs: number, timeoutMs: number): Promise<StormFigures> {
    this.restartedAt = performance.now();
    const deadline = this.restartedAt + timeoutMs;
    while (this.backCount() < this.count && performance.now() < deadline) await sleep(20);
    const back = this.backCount();
    if (back < this.count) countInto(this.errors, `${this.count - back} clients not back within ${timeoutMs} ms`);
    let peak = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      let second = 0;
      for (let j = i; j < Math.min(this.buckets.length, i + 1000 / BUCKET_MS); j++) second += this.buckets[j] ?? 0;
      peak = Math.max(peak, second);
    }
    return {
      clients: this.count,
      downMs,
      allBackMs: back === this.count ? this.lastBackAt - this.restartedAt : NaN,
      back,
      resumed: this.resumedAfterKill.filter(Boolean).length,
      peakAttemptsPerSecond: peak,
      attempts: this.attempts,
      attemptsPer100ms: Array.from(this.buckets, (value) => value ?? 0),
      errors: this.errors,
    };
  }

  close(): void {
    for (const client of this.clients) client?.close();
  }

  private backCount(): number {
    return this.killedAt === undefined ? 0 : this.upCount;
  }

  private attempt(): void {
    if (this.killedAt === undefined) return;
    this.attempts++;
    const bucket = Math.floor((performance.now() - this.killedAt) / BUCKET_MS);
    for (let i = this.buckets.length; i <= bucket; i++) this.buckets[i] = 0;
    this.buckets[bucket] = (this.buckets[bucket] ?? 0) + 1;
  }

  private opened(index: number, resumed: boolean | undefined): void {
    if (this.killedAt === undefined) return;
    if (!this.up[index]) {
      this.up[index] = true;
      this.upCount++;
      this.lastBackAt = performance.now();
    }
    this.resumedAfterKill[index] = resumed === true;
  }

  private lost(index: number): void {
    if (this.killedAt === undefined) return; // only losses caused by the kill
    if (this.up[index] === false) return;
    // The first loss after the kill: from now on the client counts as down until it opens again.
    if (this.up[index] === true) {
      this.up[index] = false;
      this.upCount--;
    } else this.up[index] = false;
  }
}
