import { cpuShare, cpuSample, toParent, type ThroughputConfig, type ThroughputResult } from '../lib/ipc.js';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves with the promise's value, or rejects after `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Shared state of a closed-loop load: the pump counts completions and stops issuing when told. */
export class Meter {
  completed = 0;
  running = true;
  readonly errors: Record<string, number> = {};
}

/** Warm-up, then `windows` windows of `windowMs`; then tells the pump to stop. */
export async function measure(config: ThroughputConfig, meter: Meter): Promise<ThroughputResult> {
  await sleep(config.warmupMs);
  toParent({ type: 'mark', name: 'measure-start' });
  const cpuStart = cpuSample();
  const start = meter.completed;
  const rates: number[] = [];
  let previous = { count: meter.completed, at: performance.now() };
  for (let i = 0; i < config.windows; i++) {
    await sleep(config.windowMs);
    const now = { count: meter.completed, at: performance.now() };
    rates.push(((now.count - previous.count) * 1000) / (now.at - previous.at));
    previous = now;
  }
  toParent({ type: 'mark', name: 'measure-end' });
  const cpuEnd = cpuSample();
  meter.running = false;
  return {
    rates,
    completed: meter.completed - start,
    measuredMs: cpuEnd.at - cpuStart.at,
    loadCpu: cpuShare(cpuStart, cpuEnd),
    errors: meter.errors,
  };
}

/** Opens `count` connections, `batch` at a time, each batch fully settled before the next. */
export async function openInBatches(
  count: number,
  batch: number,
  openOne: (index: number) => Promise<void>,
  errors: Record<string, number>,
): Promise<{ opened: number; failed: number; ms: number }> {
  const started = performance.now();
  let opened = 0;
  let failed = 0;
  for (let first = 0; first < count; first += batch) {
    const jobs: Array<Promise<void>> = [];
    for (let i = first; i < Math.min(count, first + batch); i++) jobs.push(openOne(i));
    for (const outcome of await Promise.allSettled(jobs)) {
      if (outcome.status === 'fulfilled') opened++;
      else {
        failed++;
        const reason: unknown = outcome.reason;
        const key = reason instanceof Error ? reason.message.slice(0, 80) : String(reason);
        errors[key] = (errors[key] ?? 0) + 1;
      }
    }
  }
  return { opened, failed, ms: performance.now() - started };
}
