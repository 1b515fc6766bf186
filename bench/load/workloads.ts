/**
 * The six workloads, written once against the driver interface (bench/drivers/types.ts) and run
 * in the load process for whichever system it was started for. Each returns plain figures; the
 * orchestrator (bench/run.ts) adds the server-side samples.
 */
import type { BenchClient, Driver } from '../drivers/types.js';
import { countInto, type ThroughputConfig, type ThroughputResult } from '../lib/ipc.js';
import type { CatchupFigures, FanoutFigures, LatencyFigures } from '../lib/results.js';
import { cpuSample, cpuShare, toParent } from '../lib/ipc.js';
import { measure, Meter, openInBatches, sleep, withTimeout } from './common.js';

const CONNECT_MS = 20_000;
let clientCounter = 0;
const clientId = (role: string): string => `bench-${role}-${process.pid}-${++clientCounter}`;

export function connect(driver: Driver, url: string, role: string, extra: { persistent?: boolean } = {}): Promise<BenchClient> {
  return withTimeout(driver.connect({ url, clientId: clientId(role), ...extra }), CONNECT_MS, `${driver.id} ${role} connect`);
}

/** A numbered message with the time it was sent, padded to about `bytes` of JSON. */
export interface Stamped {
  n: number;
  t: number;
  pad: string;
}
export function stamped(n: number, bytes: number): Stamped {
  return { n, t: performance.now(), pad: 'x'.repeat(Math.max(0, bytes - 40)) };
}
const isStamped = (value: unknown): value is Stamped => typeof value === 'object' && value !== null && typeof (value as Stamped).n === 'number';

/**
 * Workload 1: `inFlight` publishes awaiting their confirmation, each replaced as soon as it is
 * confirmed. With `urls` (the cluster's nodes), one such client per node, counted together.
 */
export async function throughput(driver: Driver, config: ThroughputConfig, topic: string, urls: string[] = [config.url]): Promise<ThroughputResult> {
  const clients = await Promise.all(urls.map((url) => connect(driver, url, 'throughput')));
  const meter = new Meter();
  const worker = async (client: BenchClient): Promise<void> => {
    while (meter.running) {
      try {
        await client.publish(topic, config.payload);
        meter.completed++;
      } catch (error) {
        countInto(meter.errors, `publish failed: ${error instanceof Error ? error.message.slice(0, 60) : String(error)}`);
        await sleep(10);
      }
    }
  };
  const workers = clients.flatMap((client) => Array.from({ length: config.inFlight }, () => worker(client)));
  const result = await measure(config, meter);
  await withTimeout(Promise.all(workers), 5000, 'last confirmations').catch(() => undefined);
  for (const client of clients) client.close();
  return result;
}

export interface FanoutConfig {
  /** The publisher's server (and the subscribers', without `subscriberUrls`). */
  url: string;
  /** Subscriber i connects to subscriberUrls[i mod length] (the cluster's nodes). */
  subscriberUrls?: string[];
  subscribers: number;
  batch: number;
  /** Messages published but not yet delivered to every subscriber, at most. */
  window: number;
  warmupMs: number;
  windowMs: number;
  payloadBytes: number;
  topic: string;
}

/**
 * Workload 2: one publisher, `subscribers` subscribers. The publisher keeps at most `window`
 * messages not yet delivered to every subscriber, so no system is measured filling its buffers.
 */
export async function fanout(driver: Driver, config: FanoutConfig): Promise<Omit<FanoutFigures, 'serverCpu'>> {
  const errors: Record<string, number> = {};
  const subscribers: BenchClient[] = [];
  const remaining = new Map<number, number>();
  let completeUpTo = 0; // every message below this reached every subscriber
  let published = 0;
  let deliveries = 0;
  let wake: (() => void) | undefined;
  const onMessage = (payload: unknown): void => {
    if (!isStamped(payload)) return countInto(errors, 'unexpected message');
    deliveries++;
    const left = (remaining.get(payload.n) ?? config.subscribers) - 1;
    if (left > 0) return void remaining.set(payload.n, left);
    remaining.delete(payload.n);
    while (completeUpTo < published && !remaining.has(completeUpTo)) completeUpTo++;
    wake?.();
  };
  const opened = await openInBatches(
    config.subscribers,
    config.batch,
    async (index) => {
      const urls = config.subscriberUrls ?? [config.url];
      const client = await connect(driver, urls[index % urls.length]!, 'subscriber');
      subscribers[index] = client;
      await withTimeout(client.subscribe(config.topic, onMessage), CONNECT_MS, 'subscribe');
    },
    errors,
  );
  if (opened.failed > 0) throw new Error(`${opened.failed} of ${config.subscribers} subscribers failed: ${Object.keys(errors).join('; ')}`);
  const publisher = await connect(driver, config.url, 'publisher');
  let running = true;
  /** Publishes whose confirmation has not come yet: the publisher closes only after them. */
  let unacknowledged = 0;
  const pump = async (): Promise<void> => {
    while (running) {
      if (published >= completeUpTo + config.window) {
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        continue;
      }
      remaining.set(published, config.subscribers);
      unacknowledged++;
      publisher
        .publish(config.topic, stamped(published, config.payloadBytes))
        .catch((error: unknown) => countInto(errors, `publish: ${String(error).slice(0, 60)}`))
        .finally(() => unacknowledged--);
      published++;
      // Let deliveries in between publishes, as a real publisher would.
      if (published % config.window === 0) await new Promise((resolve) => setImmediate(resolve));
    }
  };
  const pumping = pump();
  await sleep(config.warmupMs);
  toParent({ type: 'mark', name: 'measure-start' });
  const start = { deliveries, published, cpu: cpuSample() };
  await sleep(config.windowMs);
  const end = { deliveries, published, cpu: cpuSample() };
  toParent({ type: 'mark', name: 'measure-end' });
  running = false;
  wake?.();
  await pumping;
  // Whatever is still on its way gets a moment to arrive.
  const deadline = performance.now() + 5000;
  while (completeUpTo < published && performance.now() < deadline) await sleep(20);
  // Closing rejects the confirmations still on their way (the Redis store's come after the deliveries).
  while (unacknowledged > 0 && performance.now() < deadline) await sleep(20);
  const measuredMs = end.cpu.at - start.cpu.at;
  const result = {
    subscribers: config.subscribers,
    published: end.published - start.published,
    deliveries: end.deliveries - start.deliveries,
    deliveriesPerSecond: ((end.deliveries - start.deliveries) * 1000) / measuredMs,
    measuredMs,
    incomplete: published - completeUpTo,
    loadCpu: cpuShare(start.cpu, end.cpu),
    errors,
  };
  publisher.close();
  for (const client of subscribers) client.close();
  return result;
}

export interface LatencyConfig {
  /** The publisher's server (and the subscriber's, without `subscriberUrl`). */
  url: string;
  /** Another node of the cluster, for the cross-node latency. */
  subscriberUrl?: string;
  ratePerSecond: number;
  warmupMs: number;
  durationMs: number;
  payloadBytes: number;
  topic: string;
}

/** Workload 3: publish → delivery to another connection, at a fixed rate. */
export async function latency(driver: Driver, config: LatencyConfig): Promise<LatencyFigures> {
  const errors: Record<string, number> = {};
  const samples: number[] = [];
  let received = 0;
  let measuring = false;
  let measuredFrom = Infinity;
  const subscriber = await connect(driver, config.subscriberUrl ?? config.url, 'subscriber');
  await subscriber.subscribe(config.topic, (payload) => {
    if (!isStamped(payload)) return countInto(errors, 'unexpected message');
    received++;
    if (measuring && payload.t >= measuredFrom) samples.push(performance.now() - payload.t);
  });
  const publisher = await connect(driver, config.url, 'publisher');
  let sent = 0;
  const started = performance.now();
  const total = Math.round(((config.warmupMs + config.durationMs) * config.ratePerSecond) / 1000);
  // A 1 ms timer sends whatever is due by now: the rate holds even when a tick comes late.
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - started) * config.ratePerSecond) / 1000));
      if (!measuring && performance.now() - started >= config.warmupMs) {
        measuring = true;
        measuredFrom = performance.now();
      }
      while (sent < due) {
        const n = sent++;
        publisher.publish(config.topic, stamped(n, config.payloadBytes)).catch((error: unknown) => countInto(errors, `publish: ${String(error).slice(0, 60)}`));
      }
      if (sent >= total) {
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
  const deadline = performance.now() + 5000;
  while (received < sent && performance.now() < deadline) await sleep(10);
  publisher.close();
  subscriber.close();
  const sorted = samples.sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return {
    ratePerSecond: config.ratePerSecond,
    durationMs: config.durationMs,
    sent,
    received,
    p50: at(0.5),
    p99: at(0.99),
    p999: at(0.999),
    max: sorted[sorted.length - 1] ?? NaN,
    mean: sorted.reduce((sum, value) => sum + value, 0) / Math.max(1, sorted.length),
    errors,
  };
}

export interface CatchupConfig {
  url: string;
  messages: number;
  inFlight: number;
  payloadBytes: number;
  /** Give up waiting after this long without a new message. */
  quietMs: number;
  topic: string;
}

/** Publishes n in [from, to) with `inFlight` confirmations outstanding at most. */
async function publishRange(client: BenchClient, topic: string, from: number, to: number, inFlight: number, bytes: number): Promise<void> {
  let next = from;
  const worker = async (): Promise<void> => {
    while (next < to) await client.publish(topic, stamped(next++, bytes));
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
}

/**
 * Workload 5: live — a subscriber receives `messages` as they are published; then it goes
 * offline, the same number is published (every one confirmed), and it comes back: how long until
 * it has them all, and whether every one arrived once and in order.
 */
export async function catchup(driver: Driver, config: CatchupConfig): Promise<CatchupFigures> {
  const errors: Record<string, number> = {};
  const { messages: count } = config;
  const seen = new Uint8Array(count * 2);
  let last = -1;
  let received = 0;
  let duplicates = 0;
  let outOfOrder = 0;
  let lastArrival = 0;
  const subscriber = await connect(driver, config.url, 'catchup-subscriber', { persistent: true });
  await subscriber.subscribe(config.topic, (payload) => {
    if (!isStamped(payload) || payload.n >= seen.length) return countInto(errors, 'unexpected message');
    lastArrival = performance.now();
    if (seen[payload.n] === 1) duplicates++;
    else {
      seen[payload.n] = 1;
      received++;
    }
    if (payload.n < last) outOfOrder++;
    last = payload.n;
  });
  const publisher = await connect(driver, config.url, 'catchup-publisher');
  const waitFor = async (target: number): Promise<void> => {
    let before = received;
    let quietSince = performance.now();
    while (received < target) {
      await sleep(5);
      if (received !== before) {
        before = received;
        quietSince = performance.now();
      } else if (performance.now() - quietSince > config.quietMs) return;
    }
  };

  const liveStart = performance.now();
  await publishRange(publisher, config.topic, 0, count, config.inFlight, config.payloadBytes);
  await waitFor(count);
  const liveMs = lastArrival - liveStart;
  const liveReceived = received;
  if (liveReceived < count) countInto(errors, `live: ${count - liveReceived} not received`);

  await subscriber.goOffline();
  await publishRange(publisher, config.topic, count, 2 * count, config.inFlight, config.payloadBytes);
  const back = performance.now();
  lastArrival = back;
  const { recovered } = await withTimeout(subscriber.reconnect(), CONNECT_MS, 'reconnect');
  await waitFor(liveReceived + count);
  const caughtUp = received - liveReceived;
  const result = {
    messages: count,
    // Nothing arrived: there is no catch-up time (NaN, written as null).
    catchupMs: caughtUp > 0 ? lastArrival - back : NaN,
    liveMs,
    received: caughtUp,
    duplicates,
    outOfOrder,
    recovered,
    errors,
  };
  publisher.close();
  subscriber.close();
  return result;
}
