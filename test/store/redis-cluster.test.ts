import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { RedisStore } from '../../src/store/redis/index.js';
import { appendOk } from '../support/append.js';
import { freshPrefix, ownRedisPossible, startCluster, startOneNodeCluster } from '../support/redis.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { storeConformance } from './conformance.js';
import { proxiedRedisClusterStore, proxiedRedisStore } from '../support/redis-conformance.js';

/*
 * The store on Redis in cluster mode. One node holds every slot, so no request is redirected, but
 * Redis still refuses any script or command whose declared keys are in different slots (CROSSSLOT):
 * the whole suite passing here shows that no call declares keys of two hash tags. The one script
 * that reaches keys it cannot declare (sweep, the expired sessions of a bucket) builds them with its
 * bucket's tag; the layout test below checks every key's slot against its tag.
 */

if (ownRedisPossible('Redis in cluster mode')) {
  const configFile = `${tmpdir()}/holdfast-cluster-${randomUUID()}.conf`;
  const redis = await startOneNodeCluster(configFile);
  const proxies: TcpProxy[] = [];
  after(async () => {
    for (const proxy of proxies) await proxy.close();
    await redis.kill();
    rmSync(configFile, { force: true });
  });

  storeConformance(
    'redis, cluster mode',
    async (limits) => {
      return proxiedRedisStore(redis.port, freshPrefix(), limits, proxies);
    },
    { severalInstances: true, deliversWatchedOnly: true },
  );

  describe('RedisStore key layout', () => {
    let client: Redis;
    before(() => {
      client = new Redis(redis.url, { maxRetriesPerRequest: 0 });
    });
    after(() => client.disconnect());

    /** The slot Redis itself computes for a key (or a tag). */
    const calculateSlot = async (key: string): Promise<number> => Number(await client.call('CLUSTER', 'KEYSLOT', key));

    /** Every key under `prefix`, with its slot. */
    async function keysOf(prefix: string): Promise<Map<string, number>> {
      const keys = new Map<string, number>();
      let cursor = '0';
      do {
        const [next, found] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        cursor = next;
        for (const key of found) keys.set(key, await calculateSlot(key));
      } while (cursor !== '0');
      return keys;
    }

    it('is a Redis that refuses a script whose keys span slots (what makes the suite above a test of the layout)', async () => {
      await assert.rejects(client.eval('return 1', 2, '{t:a}:meta', '{t:b}:meta'), /CROSSSLOT/);
    });

    it('keeps every key of one topic in one slot, and spreads sessions and ids over many', async () => {
      const prefix = freshPrefix();
      const store = new RedisStore({ url: redis.url, keyPrefix: prefix });
      try {
        const T0 = 1_700_000_000_000;
        const topics = ['chat', 'room{1}', 'a}b', 'prices'];
        // A real batch: several topics, dedupKeys, compaction with maxKeys, keys; nothing refused.
        const batch = topics.flatMap((topic, t) =>
          Array.from({ length: 25 }, (_, i) => ({
            topic,
            data: { t, i },
            time: T0 + i,
            ...(topic === 'prices' ? { key: `k${i % 5}`, compact: true, maxKeys: 5 } : { dedupKey: `${topic}-${i}`, dedupTtlMs: 1000 }),
          })),
        );
        const outcomes = await appendOk(store, batch);
        assert.equal(outcomes.length, 100);
        await store.trim('chat', { maxCount: 0 }, T0); // forgotten: leaves a tombstone
        await store.claimIds(Array.from({ length: 50 }, () => randomUUID()), 1000, T0);
        for (let i = 0; i < 20; i++) await store.claimRequest(randomUUID(), T0, 100, 1000);
        for (let i = 0; i < 50; i++) {
          const id = randomUUID();
          await store.createSession({ id, identity: null, tokenHash: 'ab', expiresAt: T0 + 1000, version: 1, lastSeq: 0, doneAbove: [], cursors: { chat: { epoch: 'e', offset: 1 } } });
          await store.saveSessions([{ id, version: 1, addReplies: [{ seq: 1, ok: true }] }]);
        }
        const keys = await keysOf(prefix);
        for (const topic of topics) {
          const own = [...keys].filter(([key]) => key.startsWith(`${prefix}:{t:${topic}}:`));
          assert.ok(own.length >= 2, `keys of ${topic}: ${own.map(([key]) => key).join(', ')}`);
          const tag = `t:${topic.includes('}') ? topic.slice(0, topic.indexOf('}')) : topic}`;
          assert.deepEqual(new Set(own.map(([, slot]) => slot)), new Set([await calculateSlot(tag)]), `one slot for ${topic}`);
        }
        assert.ok(keys.has(`${prefix}:{t:chat}:gone`), 'the forgotten topic left its tombstone');
        const bucketSlots = new Set([...keys].filter(([key]) => /:\{b\d+\}:/.test(key)).map(([, slot]) => slot));
        assert.ok(bucketSlots.size >= 30, `sessions and ids spread over ${bucketSlots.size} slots`);
        for (const [key, slot] of keys) {
          const tag = /\{([^}]*)\}/.exec(key)?.[1];
          assert.ok(tag !== undefined && tag.length > 0, `${key} has a hash tag`);
          assert.equal(slot, await calculateSlot(tag!));
        }
      } finally {
        await store.close();
      }
    });
  });
}

/*
 * A real three-shard Redis Cluster (three primaries, the slots split between them), reached by
 * ioredis's Cluster client: topics, buckets and channels really live on different nodes, commands
 * are routed by slot, notifications cross nodes. The whole contract again, unchanged.
 */
if (ownRedisPossible('a three-shard Redis Cluster')) {
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-cluster3-'));
  const nodes = await startCluster(3, dir);
  const proxies: TcpProxy[] = [];
  after(async () => {
    for (const proxy of proxies) await proxy.close();
    for (const node of nodes) await node.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  storeConformance('redis, three-shard cluster', async (limits) => proxiedRedisClusterStore(nodes.map((node) => node.port), freshPrefix(), limits, proxies), {
    severalInstances: true,
    deliversWatchedOnly: true,
  });
}
