import { after, describe, it } from 'node:test';
import { deleteKeys, freshPrefix, REDIS_URL, redisAvailable } from '../support/redis.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { storeConformance } from './conformance.js';
import { proxiedRedisStore } from '../support/redis-conformance.js';

const available = await redisAvailable();
if (!available && process.env['CI'] === 'true') throw new Error(`Redis is not reachable at ${REDIS_URL}, and CI must run the Redis store tests (.ci/run starts redis-server)`);

if (!available) {
  describe('Store conformance: redis', () => {
    it(`is skipped: no Redis at ${REDIS_URL} (set REDIS_URL, or start redis-server)`, { skip: true }, () => undefined);
  });
} else {
  const port = Number(new URL(REDIS_URL).port || 6379);
  const proxies: TcpProxy[] = [];
  const prefixes: string[] = [];
  after(async () => {
    for (const proxy of proxies) await proxy.close();
    for (const prefix of prefixes) await deleteKeys(REDIS_URL, prefix);
  });

  // Every store gets a fresh prefix (a deployment of its own), reached through a proxy of its own
  // so that `setAvailable(false)` can cut it and its peers off Redis, as a network failure would.
  storeConformance(
    'redis',
    async (limits) => {
      const prefix = freshPrefix();
      prefixes.push(prefix);
      return proxiedRedisStore(port, prefix, limits, proxies);
    },
    { severalInstances: true, deliversWatchedOnly: true },
  );
}
