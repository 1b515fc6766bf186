import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Cluster, Redis } from 'ioredis';
import { ErrorCode } from '../../src/protocol/codes.js';
import { isHoldfastError } from '../../src/protocol/errors.js';
import { RedisStore } from '../../src/store/redis/index.js';
import { appendOk } from '../support/append.js';
import { OwnRedis, freshPrefix, ownRedisPossible } from '../support/redis.js';
import { waitFor } from '../support/wait.js';

const T0 = 1_700_000_000_000;
const unavailable = (error: unknown): boolean => isHoldfastError(error) && error.code === ErrorCode.StoreUnavailable;
const possible = ownRedisPossible('RedisStore waitForReplicas');

/**
 * `waitForReplicas` over a real primary and replica of the test's own: an append is done only once
 * the replica confirmed it (WAIT), and a replica that stalls (SIGSTOP) makes appends fail with
 * STORE_UNAVAILABLE instead of being acknowledged while only the primary holds them.
 */
describe('RedisStore waitForReplicas, against a primary and its replica', { skip: !possible }, () => {
  let primary: OwnRedis;
  let replica: OwnRedis;
  let onPrimary: Redis;
  let onReplica: Redis;
  before(async () => {
    primary = await OwnRedis.start();
    replica = await OwnRedis.start(['--replicaof', '127.0.0.1', String(primary.port)]);
    onPrimary = new Redis(primary.url, { maxRetriesPerRequest: 0 });
    onReplica = new Redis(replica.url, { maxRetriesPerRequest: 0 });
    await waitFor(async () => /connected_slaves:1/.test(await onPrimary.info('replication')), 'the replica to attach', 10_000);
    await waitFor(async () => /master_link_status:up/.test(await onReplica.info('replication')), 'the replica to sync', 10_000);
  });
  after(async () => {
    replica.resume();
    onPrimary.disconnect();
    onReplica.disconnect();
    await replica.kill();
    await primary.kill();
  });

  it('acknowledges an append once the replica holds it', async () => {
    const prefix = freshPrefix();
    const store = new RedisStore({ url: primary.url, keyPrefix: prefix, waitForReplicas: { replicas: 1, timeoutMs: 2000 } });
    try {
      const topic = `t-${randomUUID()}`;
      const [result] = await appendOk(store, [{ topic, data: { n: 1 }, dedupKey: 'k1', time: T0 }]);
      assert.equal(result!.offset, 1);
      const onTheReplica = await onReplica.xrange(store.layout.topic(topic).log, '-', '+');
      assert.deepEqual(onTheReplica.map(([id]) => id), ['1-0']);
    } finally {
      await store.close();
    }
  });

  it('fails an append the replica does not confirm in time, and again its resend through another node until the replica has it', async () => {
    const prefix = freshPrefix();
    const wait = { replicas: 1, timeoutMs: 300 };
    const [a, b] = [new RedisStore({ url: primary.url, keyPrefix: prefix, waitForReplicas: wait }), new RedisStore({ url: primary.url, keyPrefix: prefix, waitForReplicas: wait })];
    const unwaited = new RedisStore({ url: primary.url, keyPrefix: prefix });
    try {
      const topic = `t-${randomUUID()}`;
      await appendOk(a, [{ topic, data: 1, dedupKey: 'k1', time: T0 }]);
      await appendOk(b, [{ topic, data: 2, dedupKey: 'k2', time: T0 }]);
      replica.pause();
      try {
        await assert.rejects(a.append([{ topic, data: 3, dedupKey: 'k3', time: T0 }]), (error: unknown) => {
          assert.ok(unavailable(error));
          assert.match((error as Error).message, /0 of the 1 replicas/);
          return true;
        });
        // The resend reaches node b: a duplicate, written by a's connection. b's WAIT must still
        // cover that write (the script's mark), not only b's own (none), which the replica has.
        await assert.rejects(b.append([{ topic, data: 3, dedupKey: 'k3', time: T0 }]), unavailable);
        // Without the option the same append is acknowledged from the primary's memory alone.
        const [unwaitedResult] = await appendOk(unwaited, [{ topic, data: 4, dedupKey: 'k4', time: T0 }]);
        assert.equal(unwaitedResult!.offset, 4);
      } finally {
        replica.resume();
      }
      const [resent] = await appendOk(b, [{ topic, data: 3, dedupKey: 'k3', time: T0 }]);
      assert.deepEqual({ offset: resent!.offset, duplicate: resent!.duplicate }, { offset: 3, duplicate: true });
      const onTheReplica = await onReplica.xrange(a.layout.topic(topic).log, '-', '+');
      assert.deepEqual(onTheReplica.map(([id]) => id), ['1-0', '2-0', '3-0', '4-0']);
    } finally {
      replica.resume();
      await Promise.all([a.close(), b.close(), unwaited.close()]);
    }
  });

  it('refuses settings it cannot honour, with the reason', () => {
    const make = (waitForReplicas: { replicas: number; timeoutMs: number }, extra: object = {}) => () =>
      new RedisStore({ url: primary.url, keyPrefix: freshPrefix(), waitForReplicas, ...extra });
    assert.throws(make({ replicas: 0, timeoutMs: 100 }), /replicas must be an integer of at least 1/);
    assert.throws(make({ replicas: 1, timeoutMs: 0 }), /timeoutMs must be an integer from 1 to below commandTimeoutMs \(5000\)/);
    assert.throws(make({ replicas: 1, timeoutMs: 2000 }, { commandTimeoutMs: 2000 }), /below commandTimeoutMs \(2000\)/);
    const cluster = new Cluster([{ host: '127.0.0.1', port: primary.port }], { lazyConnect: true });
    try {
      assert.throws(make({ replicas: 1, timeoutMs: 100 }, { client: cluster }), /not with a Cluster client/);
    } finally {
      cluster.disconnect();
    }
  });
});
