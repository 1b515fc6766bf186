import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { HoldfastClient } from '../../src/client/index.js';
import { FailingStore, type FailableMethod } from '../support/failing-store.js';
import { startServer, type TestServer } from '../support/servers.js';
import { sleep, waitFor } from '../support/wait.js';

/** Every call a store that lost its backend would fail. */
const EVERYTHING: FailableMethod[] = ['append', 'read', 'info', 'broadcast', 'claimIds', 'loadSession', 'claimRequest', 'createSession', 'takeSession', 'saveSessions'];

/**
 * The store goes away while a real client publishes: nothing is acknowledged meanwhile, the
 * publishes wait in the client's outbox (none is rejected), and once the store is back every one
 * is stored exactly once, in the order it was published.
 */
describe('a store outage under a publishing client', () => {
  let t: TestServer | undefined;
  let client: HoldfastClient | undefined;
  afterEach(async () => {
    client?.close();
    await t?.close();
    t = client = undefined;
  });

  it('keeps every publish in the outbox through the outage and stores each once, in order, after it', { timeout: 30_000 }, async () => {
    const store = new FailingStore();
    t = await startServer({ store, expectErrors: store.threw });
    client = new HoldfastClient({ url: t.url, WebSocket: WebSocket as never, reconnect: { initialDelay: 20, maxDelay: 200 } });
    await client.publish('orders', 'before');
    const settled: string[] = [];
    for (const method of EVERYTHING) store.failing.add(method);
    const during = Array.from({ length: 20 }, (_, i) =>
      client!.publish('orders', i).then(
        () => void settled.push(`ok ${i}`),
        (error: unknown) => void settled.push(`rejected ${i}: ${String(error)}`),
      ),
    );
    await sleep(600);
    assert.deepEqual(settled, [], 'nothing acknowledged, nothing rejected during the outage');
    assert.deepEqual((await store.inner.read('orders', 0, 100)).messages.map((m) => m.data), ['before']);
    store.failing.clear();
    await Promise.all(during);
    assert.deepEqual(settled, Array.from({ length: 20 }, (_, i) => `ok ${i}`));
    await waitFor(async () => (await store.inner.read('orders', 0, 100)).messages.length >= 21, 'every publish stored');
    const stored = (await store.inner.read('orders', 0, 100)).messages.map((m) => m.data);
    assert.deepEqual(stored, ['before', ...Array.from({ length: 20 }, (_, i) => i)], 'each once, in order');
  });
});
