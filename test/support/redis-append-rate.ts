/**
 * Append throughput of the Redis store, with the memory store as reference: batches of 100 to one
 * topic for 5 s each, one call in flight (as a hub's group commit is per turn), then 8 in flight.
 * Then, on a primary and a replica of its own (redis-server on free ports, no persistence), the
 * Redis store without and with `waitForReplicas: { replicas: 1 }`: what waiting for a replica costs.
 *   node --import tsx test/support/redis-append-rate.ts   (REDIS_URL, default redis://127.0.0.1:6379)
 */
import { MemoryStore } from '../../src/store/memory/index.js';
import { RedisStore } from '../../src/store/redis/index.js';
import type { Store } from '../../src/store/types.js';
import { Redis } from 'ioredis';
import { deleteKeys, freshPrefix, OwnRedis, REDIS_URL } from './redis.js';

const SECONDS = Number(process.env['SECONDS_EACH'] ?? 5);
const BATCH = 100;

async function rate(store: Store, inFlight: number): Promise<number> {
  const data = { text: 'x'.repeat(100), n: 1 };
  const topic = `rate-${inFlight}`;
  const end = Date.now() + SECONDS * 1000;
  let appended = 0;
  const worker = async () => {
    while (Date.now() < end) {
      const time = Date.now();
      await store.append(Array.from({ length: BATCH }, (_, i) => ({ topic, data, time, dedupKey: `${appended}-${i}-${Math.random()}` })));
      appended += BATCH;
      // Retention as the hub runs it: keeps Redis's memory flat through the run.
      if (appended % 10_000 === 0) await store.trim(topic, { maxCount: 10_000 }, time);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return appended / SECONDS;
}

const prefix = freshPrefix();
const primary = await OwnRedis.start();
const replica = await OwnRedis.start(['--replicaof', '127.0.0.1', String(primary.port)]);
const probe = new Redis(primary.url);
while (!/connected_slaves:1/.test(await probe.info('replication'))) await new Promise((resolve) => setTimeout(resolve, 100));
probe.disconnect();
const results: string[] = [];
for (const [name, make] of [
  ['memory', () => new MemoryStore()],
  ['redis', () => new RedisStore({ url: REDIS_URL, keyPrefix: prefix })],
  ['primary, replica not waited for', () => new RedisStore({ url: primary.url, keyPrefix: prefix })],
  ['primary, WAIT 1 replica', () => new RedisStore({ url: primary.url, keyPrefix: prefix, waitForReplicas: { replicas: 1, timeoutMs: 1000 } })],
] as const) {
  for (const inFlight of [1, 8]) {
    const store: Store = make();
    const perSecond = await rate(store, inFlight);
    await store.close();
    results.push(`${name.padEnd(32)} ${String(inFlight).padStart(2)} in flight: ${Math.round(perSecond).toLocaleString('en')} messages/s (batches of ${BATCH}, each with a dedupKey)`);
    console.log(results.at(-1));
  }
}
await deleteKeys(REDIS_URL, prefix);
await replica.kill();
await primary.kill();
