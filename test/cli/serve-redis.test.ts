import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { HoldfastClient } from '../../src/client/index.js';
import { RedisStore } from '../../src/store/redis/index.js';
import { freePort } from '../support/child-process.js';
import { deleteKeys, freshPrefix, OwnRedis, ownRedisPossible, REDIS_URL, redisAvailable } from '../support/redis.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { sleep, waitFor } from '../support/wait.js';
import { cli, finished, listening } from './helpers.js';

const present = await redisAvailable();
if (!present && process.env['CI'] === 'true') throw new Error(`Redis does not answer at ${REDIS_URL}, and CI starts it: the setup is broken`);

/**
 * `holdfast serve --redis`: two processes on one Redis and prefix are one deployment behind a
 * round-robin balancer. One of them is SIGKILLed in the middle of the traffic and started again;
 * the client resumes through whichever answers, and every message arrives once, in order.
 */
describe('holdfast serve --redis', { skip: present ? false : `no Redis at ${REDIS_URL} (set REDIS_URL)` }, () => {
  const prefix = freshPrefix();
  const children = new Set<ChildProcess>();
  after(async () => {
    for (const child of children) child.kill('SIGKILL');
    await deleteKeys(REDIS_URL, prefix);
  });

  async function node(port: number): Promise<ChildProcess> {
    const child = cli(['serve', '--redis', REDIS_URL, '--redis-prefix', prefix, '--port', String(port), '--no-prices']);
    children.add(child);
    void finished(child).then(() => children.delete(child));
    const { store } = await listening(child);
    assert.match(store, new RegExp(`^redis redis://.* \\(prefix ${prefix}\\)$`));
    return child;
  }

  let proxy: TcpProxy;
  before(async () => {
    const ports = [await freePort(), await freePort()];
    proxy = await TcpProxy.start(ports);
    (proxy as unknown as { ports: number[] }).ports = ports;
  });
  after(() => proxy.close());

  it('refuses --redis with --memory or --data, and a URL that is not redis://', async () => {
    for (const args of [['--memory'], ['--data', '/tmp/x'], []]) {
      const url = args.length === 0 ? 'http://localhost:6379' : REDIS_URL;
      const result = await finished(cli(['serve', '--redis', url, ...args]));
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /--redis/);
    }
  });

  it('a node killed mid-stream: the client resumes on the other, nothing lost or repeated, in order', { timeout: 60_000 }, async () => {
    const [portA, portB] = (proxy as unknown as { ports: number[] }).ports as [number, number];
    const a = await node(portA);
    await node(portB);
    const client = new HoldfastClient({ url: `ws://127.0.0.1:${proxy.port}/holdfast`, WebSocket: WebSocket as never, reconnect: { initialDelay: 20, maxDelay: 200 } });
    try {
      const seen: unknown[] = [];
      const room = client.subscribe('chat:redis', (data) => seen.push((data as { n: number }).n), { from: 'start' });
      await room.ready;
      const sent: Array<Promise<void>> = [];
      const TOTAL = 300;
      for (let n = 0; n < TOTAL; n++) {
        sent.push(client.publish('chat:redis', { n }));
        if (n === 100) a.kill('SIGKILL'); // whichever node the client is on, the other one or its restart takes over
        if (n === 200) await node(portA);
        if (n % 10 === 0) await sleep(5);
      }
      await Promise.all(sent);
      await waitFor(() => seen.length >= TOTAL, `${TOTAL} messages (have ${seen.length})`, 30_000);
      await sleep(200);
      assert.deepEqual(seen, Array.from({ length: TOTAL }, (_, n) => n));
      const store = new RedisStore({ url: REDIS_URL, keyPrefix: prefix });
      try {
        const { messages } = await store.read('chat:redis', 0, TOTAL + 10);
        assert.deepEqual(messages.map((m) => (m.data as { n: number }).n), Array.from({ length: TOTAL }, (_, n) => n), 'stored once each, in order');
      } finally {
        await store.close();
      }
    } finally {
      client.close();
    }
  });

  it('--redis-wait-replicas: a publish no replica confirmed is not acknowledged, and is once a replica has it, delivered once', { timeout: 60_000, skip: ownRedisPossible('the replica test') ? false : 'needs redis-server' }, async () => {
    const primary = await OwnRedis.start();
    let replica: OwnRedis | undefined;
    const port = await freePort();
    const child = cli(['serve', '--redis', primary.url, '--redis-wait-replicas', '1', '--redis-wait-timeout', '200', '--port', String(port), '--no-prices']);
    children.add(child);
    void finished(child).then(() => children.delete(child));
    await listening(child);
    const client = new HoldfastClient({ url: `ws://127.0.0.1:${port}/holdfast`, WebSocket: WebSocket as never, reconnect: { initialDelay: 50, maxDelay: 300 } });
    try {
      const seen: unknown[] = [];
      const room = client.subscribe('chat:replicated', (data) => seen.push(data), { from: 'start' });
      await room.ready;
      let acknowledged = false;
      const published = client.publish('chat:replicated', 'only once').then(() => (acknowledged = true));
      // Written to the primary, never confirmed by a replica: the node refuses to acknowledge it,
      // and the client keeps resending it (each resend a duplicate the store recognises).
      await sleep(1500);
      assert.equal(acknowledged, false, 'acknowledged with no replica to hold it');
      replica = await OwnRedis.start(['--replicaof', '127.0.0.1', String(primary.port)]);
      await published;
      await waitFor(() => seen.length >= 1, 'the delivery');
      await sleep(300);
      assert.deepEqual(seen, ['only once']);
    } finally {
      client.close();
      child.kill('SIGKILL');
      await replica?.kill();
      await primary.kill();
    }
  });

  it('a Redis restart without persistence is told, never silent: recovered false, then the new history, once', { timeout: 60_000, skip: ownRedisPossible('the Redis restart test') ? false : 'needs redis-server' }, async () => {
    const redis = await OwnRedis.start(); // no persistence: a restart loses everything
    const port = await freePort();
    const child = cli(['serve', '--redis', redis.url, '--port', String(port), '--no-prices']);
    children.add(child);
    void finished(child).then(() => children.delete(child));
    await listening(child);
    const client = new HoldfastClient({ url: `ws://127.0.0.1:${port}/holdfast`, WebSocket: WebSocket as never, reconnect: { initialDelay: 20, maxDelay: 200 } });
    try {
      const seen: unknown[] = [];
      const recovered: boolean[] = [];
      const room = client.subscribe('chat:lost', (data) => seen.push(data), { from: 'start' });
      room.on('subscribed', (info) => recovered.push(info.recovered));
      await room.ready;
      for (let n = 1; n <= 5; n++) await client.publish('chat:lost', `before ${n}`);
      await waitFor(() => seen.length === 5, 'the first five');
      await redis.kill();
      await sleep(300);
      await redis.restart();
      // The client resends what the outage left unacknowledged; these go into the new history.
      for (let n = 1; n <= 5; n++) await client.publish('chat:lost', `after ${n}`);
      await waitFor(() => seen.length >= 10, "the next five", 20_000);
      await sleep(200);
      assert.deepEqual(seen, [1, 2, 3, 4, 5].map((n) => `before ${n}`).concat([1, 2, 3, 4, 5].map((n) => `after ${n}`)), 'each once, none of the lost history again');
      assert.equal(recovered[0], true, 'the first subscription found everything');
      assert.ok(recovered.slice(1).includes(false), `after the restart the client was told its history is gone: ${JSON.stringify(recovered)}`);
    } finally {
      client.close();
      child.kill('SIGKILL');
      await redis.kill();
    }
  });
});
