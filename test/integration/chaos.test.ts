import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { HoldfastClient } from '../../src/client/index.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { startServer, type TestServer } from '../support/servers.js';
import { sleep, waitFor } from '../support/wait.js';

const MESSAGES = 5000;
const KILLS = 50;

/**
 * The core promise, over real sockets: the connection is reset 50 times at random moments while
 * 5,000 reliable messages flow each way, and each side's application sees every message exactly
 * once, in order.
 */
describe('chaos: 50 connection resets during 5,000 messages each way', () => {
  let t: TestServer;
  let proxy: TcpProxy;
  let client: HoldfastClient;

  before(async () => {
    t = await startServer();
    proxy = await TcpProxy.start(t.port);
    client = new HoldfastClient({
      url: `ws://127.0.0.1:${proxy.port}/holdfast`,
      WebSocket: WebSocket as never,
      reconnect: { initialDelay: 5, maxDelay: 40 },
    });
  });
  after(async () => {
    client.close();
    await proxy.close();
    await t.close();
  });

  it('loses nothing and duplicates nothing in either direction', { timeout: 120_000 }, async () => {
    // The server application's view of client messages: the 'up' stream as it is appended.
    const seenByServer: unknown[] = [];
    t.server.hub.store.listen((event) => {
      if (event.kind === 'appended' && event.topic === 'up') for (const m of event.messages) seenByServer.push(m.data);
    });
    const seenByClient: unknown[] = [];
    const opens: boolean[] = [];
    client.on('open', ({ resumed }) => opens.push(resumed));
    const down = client.subscribe('down', (data) => seenByClient.push(data), { from: 'start' });
    await down.ready;

    let kills = 0;
    let flowing = true;
    const chaos = (async () => {
      while (kills < KILLS && flowing) {
        await sleep(5 + Math.random() * 45);
        if (proxy.killAll() > 0) kills++;
      }
    })();

    // Both directions flow in small paced batches, so the resets land in the middle of traffic.
    const published: Array<Promise<void>> = [];
    const upstream = (async () => {
      for (let i = 0; i < MESSAGES; i += 25) {
        for (let j = i; j < i + 25; j++) published.push(client.publish('up', j));
        await sleep(4);
      }
    })();
    const downstream = (async () => {
      for (let i = 0; i < MESSAGES; i += 25) {
        await Promise.all(Array.from({ length: 25 }, (_, j) => t.server.publish('down', i + j)));
        await sleep(4);
      }
    })();

    await Promise.all([upstream, downstream]);
    await chaos; // the remaining resets hit while resends and replays are catching up
    flowing = false;
    await Promise.all(published);
    await waitFor(() => seenByClient.length >= MESSAGES, `${MESSAGES} messages at the client (have ${seenByClient.length})`, 60_000);
    await sleep(200); // anything duplicated late would arrive now

    const expected = Array.from({ length: MESSAGES }, (_, i) => i);
    assert.equal(kills, KILLS, 'every reset hit a live connection');
    assert.ok(opens.length > 1, 'the client reconnected');
    assert.deepEqual(seenByServer, expected, 'server application: every client message once, in order');
    assert.deepEqual(seenByClient, expected, 'client application: every server message once, in order');
    const stored = await t.server.hub.store.info('up');
    assert.equal(stored.head, MESSAGES, 'nothing stored twice');
  });
});
