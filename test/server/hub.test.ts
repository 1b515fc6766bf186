import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CloseCode, ErrorCode } from '../../src/protocol/index.js';
import { FakeSocket } from '../support/fake-socket.js';
import { hubHarness } from '../support/hub-harness.js';
import { internals } from '../support/hub-internals.js';

const setup = hubHarness;

describe('Hub heartbeat sweeper', () => {
  it('pings an idle link and closes one that stays silent past interval + timeout', async () => {
    // Send and receive times are folded in at each sweep, so every bound holds to one sweepInterval (1 s).
    const { clock, hub, connect } = setup({ heartbeat: { interval: 25_000, timeout: 20_000 } });
    const { socket, connection, send } = await connect();
    clock.advance(25_000);
    assert.equal(socket.ofType('ping').length, 0, 'not before the interval');
    clock.advance(1_000);
    assert.equal(socket.ofType('ping').length, 1, 'pinged after 25 s (+1 sweep) without sending');
    send({ type: 'pong' });
    clock.advance(26_000);
    assert.equal(socket.ofType('ping').length, 2);
    assert.equal(socket.terminated, false, 'the pong kept it alive');
    clock.advance(44_000 - 26_000);
    assert.equal(socket.terminated, false, 'not before interval + timeout');
    clock.advance(2_000);
    assert.equal(socket.terminated, true, 'silent for 45 s (+1 sweep) after its last frame: terminated');
    assert.equal(connection.state, 'closed');
    assert.equal(hub.stats().connections, 0, 'resources freed');
  });

  it('does not ping a link that carries traffic, and uses one timer for every connection', async () => {
    const { clock, hub, connect } = setup({ heartbeat: { interval: 10_000, timeout: 5_000 } });
    const peers = await Promise.all([connect(), connect(), connect()]);
    assert.equal(clock.pending, 1, 'one sweeper timer for three connections');
    const [busy] = peers;
    for (let i = 0; i < 20; i++) {
      await hub.publish('t', i);
      busy!.send({ type: 'ping' });
      clock.advance(1_000);
    }
    assert.equal(busy!.socket.ofType('ping').length, 0, 'pongs were sent, so no ping was needed');
    assert.equal(busy!.socket.terminated, false);
    assert.ok(peers[1]!.socket.terminated && peers[2]!.socket.terminated, 'the silent ones were dropped');
  });

  it('closes a connection that sends no hello within helloTimeout with 4408', () => {
    const { clock, hub } = setup({ helloTimeout: 10_000 });
    const socket = new FakeSocket();
    hub.open(socket);
    hub.sweep();
    clock.advance(10_000);
    assert.deepEqual(socket.closedWith, { code: CloseCode.HelloTimeout, reason: ErrorCode.HelloTimeout });
  });
});

describe('Hub flow control', () => {
  it('sends at most maxInFlight unacknowledged messages, and the rest after acks, from the store', async () => {
    const { clock, hub, connect } = setup({ limits: { maxInFlight: 10 } });
    const { socket, send } = await connect();
    send({ type: 'sub', topic: 'chat', from: 'now' });
    await clock.idle();
    for (let i = 1; i <= 35; i++) void hub.publish('chat', i);
    await clock.idle();
    const offsets = () => socket.ofType('msg').map((m) => m.offset);
    assert.deepEqual(offsets(), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 'paused at the window');
    send({ type: 'ack', offsets: { chat: 10 } });
    await clock.idle();
    assert.equal(offsets().length, 20);
    send({ type: 'ack', offsets: { chat: 20 } });
    await clock.idle();
    send({ type: 'ack', offsets: { chat: 30 } });
    await clock.idle();
    assert.deepEqual(offsets(), Array.from({ length: 35 }, (_, i) => i + 1), 'every message once, in order');
  });

  it('coalesces a latest topic for a blocked subscriber: only the newest value per key', async () => {
    const { clock, hub, connect } = setup({ topics: { prices: { mode: 'latest' } }, limits: { maxInFlight: 2 } });
    const { socket, send } = await connect();
    send({ type: 'sub', topic: 'prices' });
    await clock.idle();
    for (let i = 1; i <= 50; i++) await hub.publish('prices', { price: i }, { key: i % 2 ? 'A' : 'B' });
    await clock.idle();
    assert.equal(socket.ofType('msg').length, 2);
    send({ type: 'ack', offsets: { prices: 2 } });
    await clock.idle();
    const after = socket.ofType('msg').slice(2);
    assert.deepEqual(after.map((m) => [m.key, m.data]), [['B', { price: 50 }], ['A', { price: 49 }]].sort((a, b) => (a[1] as any).price - (b[1] as any).price));
  });

  it('drops volatile messages for a connection whose send buffer is full, and only for it', async () => {
    const { clock, hub, connect } = setup({ topics: { cursors: { mode: 'volatile' } }, limits: { maxBufferedBytes: 100 } });
    const slow = await connect();
    const fast = await connect();
    for (const peer of [slow, fast]) peer.send({ type: 'sub', topic: 'cursors' });
    await clock.idle();
    slow.socket.bufferedAmount = 1000;
    await hub.publish('cursors', { x: 1 });
    assert.equal(slow.socket.ofType('msg').length, 0);
    assert.equal(fast.socket.ofType('msg').length, 1);
  });
});

describe('Hub sessions', () => {
  it('rotates the token on each resume, and refuses a token once the client resumed with a newer one', async () => {
    const { connect } = setup();
    const first = await connect();
    const welcome = first.socket.ofType('welcome')[0]!;
    const second = await connect({ type: 'hello', v: 1, resume: { session: welcome.session, token: welcome.token } });
    const resumed = second.socket.ofType('welcome')[0]!;
    assert.equal(resumed.resumed, true);
    assert.equal(resumed.session, welcome.session);
    assert.notEqual(resumed.token, welcome.token);
    assert.equal(first.socket.closedWith?.code, CloseCode.SessionReplaced, 'the older connection is closed');
    // Resuming with the newer token shows the client holds it (test/server/lost-welcome.test.ts: until then the older one works).
    const third = await connect({ type: 'hello', v: 1, resume: { session: welcome.session, token: resumed.token } });
    assert.equal(third.socket.ofType('welcome')[0]!.resumed, true);
    const stale = await connect({ type: 'hello', v: 1, resume: { session: welcome.session, token: welcome.token } });
    assert.equal(stale.socket.ofType('welcome')[0]!.resumed, false, 'the rotated-out token is refused');
  });

  it('expires a session sessionTtl after its connection closed', async () => {
    const { clock, hub, connect } = setup({ sessionTtl: 60_000 });
    const peer = await connect();
    const welcome = peer.socket.ofType('welcome')[0]!;
    hub.closed(peer.connection);
    clock.advance(61_000);
    const late = await connect({ type: 'hello', v: 1, resume: { session: welcome.session, token: welcome.token } });
    assert.equal(late.socket.ofType('welcome')[0]!.resumed, false);
    assert.equal(internals(hub).sessions.get(welcome.session) !== undefined, false);
  });
});

describe('Hub rate limit', () => {
  it('pauses reading past the rate, resumes only when the bucket allows, and says so once per episode', async () => {
    const { clock, connect } = setup({ limits: { messageRate: { perSecond: 100, burst: 10 } } });
    const { socket, send } = await connect(); // hello took one token
    for (let i = 0; i < 9; i++) send({ type: 'ping' });
    assert.equal(socket.paused, false, 'within the burst');
    send({ type: 'ping' });
    assert.equal(socket.paused, true);
    // Frames already read while paused still count, deepening the debt.
    for (let i = 0; i < 5; i++) send({ type: 'ping' });
    assert.equal(socket.ofType('error').length, 1, 'one RATE_LIMITED per episode');
    assert.equal(socket.ofType('error')[0]!.code, ErrorCode.RateLimited);
    assert.equal(socket.ofType('pong').length, 15, 'nothing dropped');
    clock.advance(50);
    assert.equal(socket.paused, true, 'the first timer found the bucket still in debt');
    clock.advance(10);
    assert.equal(socket.paused, false, '6 frames of debt at 100/s: reading resumes after 60 ms');
    for (let i = 0; i < 20; i++) send({ type: 'ping' });
    assert.equal(socket.paused, true, 'a second episode');
    assert.equal(socket.ofType('error').length, 1, 'not told again within the second');
    clock.advance(1000);
    for (let i = 0; i < 20; i++) send({ type: 'ping' });
    assert.equal(socket.ofType('error').length, 2, 'told again a second later');
  });

  it('caps the debt at one burst, so a flood read before the pause cannot stall a connection for long', async () => {
    const { clock, connect } = setup({ limits: { messageRate: { perSecond: 100, burst: 10 } } });
    const { socket, send } = await connect();
    for (let i = 0; i < 1000; i++) send({ type: 'ping' });
    clock.advance(100);
    assert.equal(socket.paused, false, 'debt capped at 10 frames: 100 ms');
  });
});
