import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HoldfastClient, HoldfastError } from '../../src/client/index.js';
import { FakeServer, tick } from './fake-server.js';
import { accept, reconnect, settle, start, startOpen } from './harness.js';

const transitions = (h: { states: Array<{ oldState: string; newState: string }> }) => h.states.map((s) => `${s.oldState}>${s.newState}`);

describe('HoldfastClient: connecting', () => {
  it('goes idle > connecting > open and sends hello first', async () => {
    const h = await start({ auth: { token: 'abc' } });
    assert.equal(h.client.state, 'connecting');
    assert.equal(h.socket.url, 'ws://holdfast.test/ws');
    h.socket.accept();
    assert.deepEqual(h.socket.sent, [{ type: 'hello', v: 1, auth: { token: 'abc' } }]);
    assert.equal(h.client.state, 'connecting', 'open only after welcome');
    h.socket.welcome();
    assert.equal(h.client.state, 'open');
    assert.equal(h.client.session, 's1');
    assert.deepEqual(transitions(h), ['idle>connecting', 'connecting>open']);
    assert.deepEqual(h.opens, [{ session: 's1', resumed: false }]);
  });

  it('omits auth when there is none', async () => {
    const h = await start();
    h.socket.accept();
    assert.deepEqual(h.socket.sent, [{ type: 'hello', v: 1 }]);
  });

  it('calls url and auth providers (async too) on every connect', async () => {
    let urls = 0;
    let auths = 0;
    const h = await start({
      url: async () => `ws://node-${++urls}.test`,
      auth: () => Promise.resolve({ n: ++auths }),
    });
    assert.equal(h.socket.url, 'ws://node-1.test');
    accept(h);
    assert.deepEqual(h.socket.sent[0], { type: 'hello', v: 1, auth: { n: 1 } });
    const second = await reconnect(h);
    assert.equal(second.url, 'ws://node-2.test');
    second.accept();
    assert.deepEqual((second.sent[0] as { auth: unknown }).auth, { n: 2 });
  });

  it('autoConnect connects from the constructor; connect() is idempotent', async () => {
    const server = new FakeServer();
    const client = new HoldfastClient({ url: 'ws://x', WebSocket: server.WebSocket, environment: { isOnline: () => true, onOnline: () => () => {}, onVisible: () => () => {} } });
    assert.equal(client.state, 'connecting');
    client.connect();
    client.connect();
    await tick();
    assert.equal(server.sockets.length, 1);
    client.close();
  });

  it('autoConnect: false stays idle until connect()', async () => {
    const h = await start({}, false);
    assert.equal(h.client.state, 'idle');
    assert.equal(h.server.sockets.length, 0);
    h.client.connect();
    await tick();
    assert.equal(h.server.sockets.length, 1);
  });

  it('a connect timeout covers socket open and welcome, then retries', async () => {
    const h = await start({ connectTimeout: 5000 });
    h.socket.accept(); // opened, but no welcome
    h.clock.advance(4999);
    assert.equal(h.client.state, 'connecting');
    h.clock.advance(1);
    assert.equal(h.client.state, 'reconnecting');
    assert.deepEqual(h.socket.closedByClient, { code: undefined, reason: undefined });
    const last = h.states.at(-1);
    assert.equal(last?.code, 1006);
    assert.equal(last?.reason, 'connect timeout');
    assert.equal(last?.attempt, 1);
    assert.equal(h.disconnects.length, 0, 'never open, so no disconnect event');
  });

  it('the connect timeout also covers a url provider that never answers', async () => {
    const h = await start({ connectTimeout: 3000, url: () => new Promise<string>(() => {}) });
    assert.equal(h.server.sockets.length, 0);
    h.clock.advance(3000);
    assert.equal(h.client.state, 'reconnecting');
    assert.equal(h.states.at(-1)?.reason, 'connect timeout');
  });

  it('a late welcome on an abandoned socket is ignored', async () => {
    const h = await start({ connectTimeout: 1000 });
    const first = h.socket;
    h.clock.advance(1000);
    await tick();
    first.accept();
    first.onmessage?.({ data: JSON.stringify({ type: 'welcome' }) });
    assert.equal(h.client.state, 'reconnecting');
    assert.deepEqual(first.sent, [], 'no hello on an abandoned socket');
  });

  it('a throwing url provider or WebSocket constructor is a failed attempt', async () => {
    const h = await start({ url: () => { throw new Error('no url today'); } });
    assert.equal(h.client.state, 'reconnecting');
    assert.match(h.states.at(-1)?.reason ?? '', /no url today/);
    const h2 = await start({}, false);
    h2.server.refuseConstruction = new SyntaxError('bad url');
    h2.client.connect();
    await tick();
    assert.equal(h2.client.state, 'reconnecting');
    assert.match(h2.states.at(-1)?.reason ?? '', /bad url/);
  });

  it('throws at construction without any WebSocket implementation', () => {
    const saved = (globalThis as { WebSocket?: unknown }).WebSocket;
    delete (globalThis as { WebSocket?: unknown }).WebSocket;
    try {
      assert.throws(() => new HoldfastClient({ url: 'ws://x', autoConnect: false }), /WebSocket/);
    } finally {
      if (saved !== undefined) (globalThis as { WebSocket?: unknown }).WebSocket = saved;
    }
  });
});

describe('HoldfastClient: heartbeat', () => {
  it('answers ping with pong', async () => {
    const h = await startOpen();
    h.socket.take();
    h.socket.push({ type: 'ping' });
    assert.deepEqual(h.socket.take(), [{ type: 'pong' }]);
  });

  it('detects a dead link after interval + grace of silence and reconnects at once', async () => {
    const h = await startOpen({ heartbeatGrace: 10_000 }, { heartbeat: { interval: 25_000, timeout: 20_000 } });
    const first = h.socket;
    h.clock.advance(34_999);
    assert.equal(h.client.state, 'open');
    h.clock.advance(1);
    assert.ok(first.closedByClient, 'the dead socket is closed');
    const lost = h.states.find((s) => s.newState === 'reconnecting')!;
    assert.deepEqual([lost.code, lost.reason, lost.delay, lost.attempt], [4001, 'heartbeat timeout', 0, 1]);
    assert.deepEqual(h.disconnects, [{ code: 4001, reason: 'heartbeat timeout', willReconnect: true }]);
    assert.deepEqual(transitions(h).slice(-2), ['open>reconnecting', 'reconnecting>connecting'], 'no waiting');
    await tick();
    assert.equal(h.server.sockets.length, 2);
  });

  it('any server frame counts as liveness', async () => {
    const h = await startOpen({ heartbeatGrace: 10_000 });
    for (let i = 0; i < 10; i++) {
      h.clock.advance(30_000);
      h.socket.push(i % 2 === 0 ? { type: 'pong' } : { type: 'ack', seq: 0 });
    }
    assert.equal(h.client.state, 'open');
    h.clock.advance(20_000);
    h.socket.push('not json'); // even garbage proves the link is alive
    h.clock.advance(34_999);
    assert.equal(h.client.state, 'open');
    h.clock.advance(1);
    assert.equal(h.client.state, 'connecting');
  });

  it('does not run a timer per frame', async () => {
    const h = await startOpen();
    const before = h.clock.pending;
    for (let i = 0; i < 100; i++) h.socket.push({ type: 'pong' });
    assert.equal(h.clock.pending, before);
  });
});

describe('HoldfastClient: errors and close()', () => {
  it('emits server error frames and invalid frames as error events, keeping the connection', async () => {
    const h = await startOpen();
    h.socket.push({ type: 'error', code: 'UNKNOWN_FRAME_TYPE', message: 'what?' });
    h.socket.push('{not json');
    h.socket.push({ type: 'frobnicate' });
    h.socket.push({ type: 'ack' });
    assert.deepEqual(h.errors.map((e) => e.code), ['UNKNOWN_FRAME_TYPE', 'MALFORMED_FRAME', 'UNKNOWN_FRAME_TYPE', 'INVALID_FRAME']);
    assert.equal(h.client.state, 'open');
  });

  it('close() closes with 1000, clears timers and rejects everything pending with CLIENT_CLOSED', async () => {
    const h = await startOpen();
    const published = settle(h.client.publish('t', 1));
    const requested = settle(h.client.request('m', 1));
    const subscription = h.client.subscribe('t');
    h.client.close();
    await tick();
    assert.equal(h.client.state, 'closed');
    assert.deepEqual(h.socket.closedByClient, { code: 1000, reason: 'client closed' });
    assert.equal(h.clock.pending, 0);
    assert.equal((published.error as HoldfastError).code, 'CLIENT_CLOSED');
    assert.equal((requested.error as HoldfastError).code, 'CLIENT_CLOSED');
    await assert.rejects(subscription.ready, (e: HoldfastError) => e.code === 'CLIENT_CLOSED');
    assert.equal(subscription.state, 'unsubscribed');
    const last = h.states.at(-1)!;
    assert.deepEqual([last.oldState, last.newState, last.final, last.code, last.error?.code], ['open', 'closed', true, 1000, 'CLIENT_CLOSED']);
    assert.deepEqual(h.disconnects, [{ code: 1000, reason: 'client closed', willReconnect: false }]);
  });

  it('after close(), operations reject at once and connect() does nothing', async () => {
    const h = await start();
    h.client.close();
    await assert.rejects(h.client.publish('t', 1), (e: HoldfastError) => e.code === 'CLIENT_CLOSED');
    await assert.rejects(h.client.request('m', 1), (e: HoldfastError) => e.code === 'CLIENT_CLOSED');
    const subscription = h.client.subscribe('t');
    assert.equal(subscription.state, 'failed');
    await assert.rejects(subscription.ready);
    h.client.connect();
    h.client.close();
    assert.equal(h.client.state, 'closed');
    assert.equal(h.states.filter((s) => s.newState === 'closed').length, 1);
  });

  it('close() while waiting to reconnect cancels the retry', async () => {
    const h = await startOpen();
    h.socket.drop();
    h.client.close();
    h.clock.advance(60_000);
    await tick();
    assert.equal(h.server.sockets.length, 1);
    assert.equal(h.clock.pending, 0);
  });

  it('close() from a state listener stops the machine at once', async () => {
    const h = await start();
    h.client.on('state', (change) => {
      if (change.newState === 'reconnecting') h.client.close();
    });
    h.socket.drop();
    assert.equal(h.client.state, 'closed');
    assert.equal(h.clock.pending, 0);
  });

  it('a throwing listener is reported as HANDLER_ERROR and does not break the client', async () => {
    const h = await start();
    h.client.on('state', () => {
      throw new Error('oops');
    });
    accept(h);
    assert.equal(h.client.state, 'open');
    assert.equal(h.errors[0]?.code, 'HANDLER_ERROR');
    assert.ok(h.errors[0] instanceof HoldfastError);
  });

  it('on() returns an unsubscribe function', async () => {
    const h = await start();
    let count = 0;
    const off = h.client.on('state', () => count++);
    accept(h);
    off();
    h.socket.drop();
    assert.equal(count, 1);
  });
});

describe('HoldfastClient: several frames per WebSocket message', () => {
  it('writes the first frame of a tick at once and joins the rest into one message, in order', async () => {
    const h = await startOpen();
    h.socket.raw.length = 0;
    for (let i = 1; i <= 4; i++) void h.client.publish('chat', i);
    assert.equal(h.socket.raw.length, 1, 'the first at once');
    await tick();
    assert.equal(h.socket.raw.length, 2);
    assert.equal(h.socket.raw[1]!.split('\n').length, 3);
    assert.deepEqual(h.socket.sentOf('pub').map((f) => [f.seq, f.data]), [[1, 1], [2, 2], [3, 3], [4, 4]]);
  });

  it('handles every frame of a server message in order, and reports an invalid one without losing the others', async () => {
    const h = await startOpen();
    const first = settle(h.client.publish('chat', 'a'));
    const second = settle(h.client.request('m', null));
    await tick();
    h.socket.push(['{"type":"reply","seq":2,"ok":true,"data":7}', '{"nope', '{"type":"ack","seq":2}'].join('\n'));
    await tick();
    assert.equal(first.done, true);
    assert.deepEqual(second.value, 7);
    assert.deepEqual(h.errors.map((e) => e.code), ['MALFORMED_FRAME']);
    assert.equal(h.client.state, 'open');
  });

  it('close() sends the frames waiting for the end of the tick before the close', async () => {
    const h = await startOpen();
    h.socket.raw.length = 0;
    void h.client.publish('chat', 1, { reliable: false });
    void h.client.publish('chat', 2, { reliable: false });
    h.client.close();
    assert.deepEqual(h.socket.sentOf('pub').map((f) => f.data), [1, 2]);
    assert.equal(h.socket.closedByClient?.code, 1000);
  });
});
