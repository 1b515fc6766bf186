import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The heap after garbage collection: forced when node runs with --expose-gc (npm run fuzz does),
 * otherwise after a pause in which V8 usually collects on its own. A smoke measure, not a benchmark.
 */
export async function settledMemory(): Promise<{ heapUsed: number; rss: number; forcedGc: boolean }> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) {
    gc?.();
    await sleep(gc === undefined ? 200 : 20);
  }
  const { heapUsed, rss } = process.memoryUsage();
  return { heapUsed, rss, forcedGc: gc !== undefined };
}
