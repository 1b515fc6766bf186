import type { MemorySample } from './ipc.js';

const gc = (globalThis as { gc?: () => void }).gc;

/** Memory after full garbage collections (needs `node --expose-gc`; without it, as is). */
export async function settledMemory(): Promise<MemorySample> {
  for (let i = 0; i < 4; i++) {
    gc?.();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
  return { rss, heapUsed, heapTotal, external, arrayBuffers };
}

export const hasGc = gc !== undefined;
