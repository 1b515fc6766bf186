import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { SubscribedInfo } from '../../src/client/index.js';
import { closeClients, makeClient } from '../support/clients.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { startServer, type TestServer } from '../support/servers.js';
import type { ServerOptions } from '../../src/server/index.js';
import { sleep, waitFor } from '../support/wait.js';
import { internals } from '../support/hub-internals.js';

let t: TestServer | undefined;
let proxy: TcpProxy | undefined;
afterEach(async () => {
  closeClients();
  await proxy?.close();
  await t?.close();
});

/** A client behind a proxy, subscribed to `topic`, with everything it sees recorded. */
async function setup(topic: string, options: ServerOptions = {}) {
  t = await startServer({ sweepInterval: 20, ...options });
  proxy = await TcpProxy.start(t.port);
  const client = makeClient(`ws://127.0.0.1:${proxy.port}/holdfast`);
  const received: unknown[] = [];
  const subscribedEvents: SubscribedInfo[] = [];
  const opens: boolean[] = [];
  client.on('open', ({ resumed }) => opens.push(resumed));
  const subscription = client.subscribe(topic, (data) => received.push(data), { from: 'start' });
  subscription.on('subscribed', (info) => subscribedEvents.push(info));
  await subscription.ready;
  return { server: t.server, proxy, client, received, subscribedEvents, opens };
}

/** Cuts the connection and keeps the server unreachable while `during` runs. */
async function outage(p: TcpProxy, during: () => Promise<void>): Promise<void> {
  p.refusing = true;
  p.killAll();
  await during();
  p.refusing = false;
}

describe('resume', () => {
  it('after a short outage replays exactly what was missed', async () => {
    const { server, proxy, received, subscribedEvents, opens } = await setup('chat');
    for (let i = 0; i < 3; i++) await server.publish('chat', i);
    await waitFor(() => received.length === 3, 'the first messages');
    await outage(proxy, async () => {
      for (let i = 3; i < 10; i++) await server.publish('chat', i);
    });
    await waitFor(() => received.length === 10, 'the missed messages');
    assert.deepEqual(received, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(opens, [false, true], 'the second open resumed the session');
    const last = subscribedEvents.at(-1)!;
    assert.equal(last.recovering, true);
    assert.equal(last.recovered, true);
  });

  it('after retention was exceeded gets the snapshot and recovered: false', async () => {
    const state = { value: 'current state' };
    const { server, proxy, received, subscribedEvents } = await setup('room', {
      topics: { room: { mode: 'reliable', retention: { maxCount: 5 }, snapshot: () => state } },
    });
    await server.publish('room', 'seen');
    await waitFor(() => received.length === 1, 'the first message');
    await outage(proxy, async () => {
      for (let i = 0; i < 20; i++) await server.publish('room', `missed ${i}`);
      server.hub.sweep(); // retention trims to the newest 5
    });
    await waitFor(() => subscribedEvents.length === 2, 'the resubscribe');
    const resumed = subscribedEvents[1]!;
    assert.equal(resumed.recovering, true);
    assert.equal(resumed.recovered, false);
    assert.deepEqual(resumed.snapshot, state);
    await server.publish('room', 'live');
    await waitFor(() => received.includes('live'), 'the live message');
    assert.deepEqual(received, ['seen', 'live'], 'after the snapshot only new messages follow');
  });

  it('after retention was exceeded without a snapshot hook gets what is retained and recovered: false', async () => {
    const { server, proxy, received, subscribedEvents } = await setup('log', {
      topics: { log: { mode: 'reliable', retention: { maxCount: 3 } } },
    });
    await server.publish('log', 0);
    await waitFor(() => received.length === 1, 'the first message');
    await outage(proxy, async () => {
      for (let i = 1; i <= 10; i++) await server.publish('log', i);
      server.hub.sweep();
    });
    await waitFor(() => received.length === 4, 'the retained messages');
    assert.equal(subscribedEvents[1]!.recovered, false);
    assert.deepEqual(received, [0, 8, 9, 10]);
  });

  it('of an expired session gets a new session, is told so, and its streams still recover', async () => {
    const { server, proxy, client, received, subscribedEvents, opens } = await setup('feed', { sessionTtl: 100 });
    await server.publish('feed', 'a');
    await waitFor(() => received.length === 1, 'the first message');
    const firstSession = client.session;
    await outage(proxy, async () => {
      await server.publish('feed', 'b');
      await sleep(300); // past the session TTL; the sweeper removes it
    });
    assert.equal(internals(server.hub).sessions.get(firstSession!) !== undefined, false, 'the session expired');
    await waitFor(() => opens.length === 2, 'the reconnect');
    assert.equal(opens[1], false, 'told: not resumed');
    assert.notEqual(client.session, firstSession);
    await waitFor(() => received.length === 2, 'the missed message');
    assert.deepEqual(received, ['a', 'b']);
    assert.equal(subscribedEvents.at(-1)!.recovered, true, 'the stream itself still reached back');
  });
});

describe('requests', () => {
  it('a request resent after a reconnect runs its handler once (reply lost on the way back)', async () => {
    let calls = 0;
    let proxyRef: TcpProxy | undefined;
    t = await startServer({
      handlers: {
        charge: (data) => {
          calls++;
          // The reply is written into a link that no longer forwards anything, then the link dies.
          proxyRef!.blackholeAll();
          setTimeout(() => proxyRef!.killAll(), 20);
          return { charged: data };
        },
      },
    });
    proxy = proxyRef = await TcpProxy.start(t.port);
    const client = makeClient(`ws://127.0.0.1:${proxy.port}/holdfast`);
    const reply = await client.request('charge', 42, { timeout: 10_000 });
    assert.deepEqual(reply, { charged: 42 });
    assert.equal(calls, 1);
    assert.ok(proxy.accepted >= 2, 'it did reconnect');
  });

  it('a request resent while its handler still runs gets the one reply', async () => {
    let calls = 0;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    t = await startServer({
      handlers: {
        slow: async () => {
          calls++;
          await released;
          return 'done';
        },
      },
    });
    proxy = await TcpProxy.start(t.port);
    const client = makeClient(`ws://127.0.0.1:${proxy.port}/holdfast`);
    await waitFor(() => client.state === 'open', 'open');
    const pending = client.request('slow', null, { timeout: 10_000 });
    await waitFor(() => calls === 1, 'the handler to start');
    proxy.killAll();
    await waitFor(() => proxy!.accepted >= 2 && client.state === 'open', 'the reconnect');
    await sleep(50); // the resend arrives while the first run is still going
    release();
    assert.equal(await pending, 'done');
    assert.equal(calls, 1);
  });
});
