import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CloseCode, ErrorCode } from '../../src/protocol/index.js';
import { MemoryStore, type Store } from '../../src/server/index.js';
import { InboundLedger } from '../../src/server/inbound-ledger.js';
import { hubHarness } from '../support/hub-harness.js';

/**
 * Bounds on what one connection can make the server hold (issue 10): every frame kind counts
 * against the send buffer, catch-up stops at it, input before welcome is bounded in bytes, and
 * kept replies are bounded in bytes. Deterministic: fake sockets, whose bufferedAmount the test
 * sets, and the fake clock. test/integration/slow-consumer.test.ts covers the same over real sockets.
 */
const SOFT = 10_000;
const limits = { maxBufferedBytes: SOFT, maxPayload: 10_000 };
const HARD = SOFT + 10_000 + 64 * 1024;

describe('send buffer bounds', () => {
  // Guards: frames other than msg (here pongs) were written whatever bufferedAmount said.
  it('stops reading a congested connection and handles what it sent meanwhile, in order, once it drains', async () => {
    const { hub, connect } = hubHarness({ limits });
    const { socket, connection, send } = await connect();
    socket.bufferedAmount = SOFT + 1;
    send({ type: 'ping' });
    assert.equal(socket.ofType('pong').length, 1, 'the frame that congested it was written');
    assert.equal(socket.paused, true, 'reading stops');
    // The transport may still deliver what it had read: it waits, one message of frames included.
    send(['{"type":"unsub","topic":"a"}', '{"type":"unsub","topic":"b"}'].join('\n'));
    send({ type: 'unsub', topic: 'c' });
    assert.equal(socket.ofType('unsubscribed').length, 0, 'nothing more is written while congested');
    hub.drained(connection); // a drain that still leaves it over the limit changes nothing
    assert.equal(socket.paused, true);
    socket.bufferedAmount = 0;
    hub.drained(connection);
    assert.deepEqual(socket.ofType('unsubscribed').map((f) => f.topic), ['a', 'b', 'c']);
    assert.equal(socket.paused, false, 'reading resumes');
  });

  it('keeps the rest of a message when a frame in it congests the connection', async () => {
    const { hub, connect } = hubHarness({ limits });
    const { socket, connection, send } = await connect();
    const frames = ['a', 'b', 'c', 'd'].map((topic) => JSON.stringify({ type: 'unsub', topic }));
    const written = socket.sent.length;
    socket.send = (text) => {
      socket.sent.push(text);
      if (text.includes('"b"')) socket.bufferedAmount = SOFT + 1; // the answer to b fills the buffer
    };
    send(frames.join('\n'));
    assert.deepEqual(socket.ofType('unsubscribed').map((f) => f.topic), ['a', 'b']);
    socket.bufferedAmount = 0;
    hub.drained(connection);
    assert.deepEqual(socket.ofType('unsubscribed').map((f) => f.topic), ['a', 'b', 'c', 'd']);
    assert.equal(socket.sent.length - written, 4);
  });

  // Guards: nothing bounded the buffer; a client that never reads grew the server by 1.6 GB in 30 s.
  it('closes with 4413 SLOW_CONSUMER instead of writing a frame past the hard bound', async () => {
    const { hub, connect } = hubHarness({ limits });
    const { socket, send } = await connect();
    socket.bufferedAmount = HARD - 10;
    send({ type: 'ping' });
    assert.equal(socket.ofType('pong').length, 0, 'the pong was not written');
    assert.deepEqual(socket.closedWith, { code: CloseCode.SlowConsumer, reason: ErrorCode.SlowConsumer });
    assert.equal(socket.ofType('error').at(-1)!.code, ErrorCode.SlowConsumer, 'the error frame that says why still goes out');
    assert.equal(hub.stats().connections, 0, 'freed');
  });

  it('closes a connection over the limit for slowConsumerGrace, checked by the one sweeper', async () => {
    const { clock, hub, connect } = hubHarness({ limits: { ...limits, slowConsumerGrace: 30_000 } });
    const slow = await connect();
    const fine = await connect();
    slow.socket.bufferedAmount = SOFT + 1;
    slow.send({ type: 'ping' });
    clock.advance(30_000);
    assert.equal(slow.socket.closedWith, undefined, 'not before the grace (it holds to within one sweep)');
    clock.advance(1_000);
    assert.deepEqual(slow.socket.closedWith, { code: CloseCode.SlowConsumer, reason: ErrorCode.SlowConsumer });
    assert.equal(fine.socket.closedWith, undefined);
    assert.equal(clock.pending, 1, 'no timer per connection: only the sweeper');
    assert.equal(hub.stats().connections, 1);
  });

  it('does not close a connection whose buffer drained within the grace, even when the transport did not say so', async () => {
    const { clock, connect } = hubHarness({ limits: { ...limits, slowConsumerGrace: 30_000 } });
    const { socket, send } = await connect();
    socket.bufferedAmount = SOFT + 1;
    send({ type: 'ping' });
    send({ type: 'unsub', topic: 'x' });
    clock.advance(20_000);
    assert.equal(socket.ofType('unsubscribed').length, 0, 'held while congested');
    socket.bufferedAmount = 0; // no hub.drained(): the sweeper notices
    clock.advance(1_000);
    assert.equal(socket.paused, false);
    assert.equal(socket.ofType('unsubscribed').length, 1, 'the held frame was handled');
    socket.bufferedAmount = SOFT + 1;
    send({ type: 'ping' });
    clock.advance(20_000);
    assert.equal(socket.closedWith, undefined, 'a new episode starts a new grace');
  });

  it('closes a congested connection whose transport cannot pause once its held input passes the bound', async () => {
    const { connect } = hubHarness({ limits });
    const { socket, send } = await connect();
    socket.bufferedAmount = SOFT + 1;
    send({ type: 'ping' });
    const frame = JSON.stringify({ type: 'unsub', topic: 'x'.repeat(200) });
    let sent = 0;
    for (; sent < 2000 && socket.closedWith === undefined; sent++) send(frame);
    assert.deepEqual(socket.closedWith, { code: CloseCode.SlowConsumer, reason: ErrorCode.SlowConsumer });
    assert.ok(sent * frame.length <= 10_000 + 256 * 1024 + frame.length, `held ${sent} frames of ${frame.length} characters`);
    assert.equal(socket.ofType('unsubscribed').length, 0);
  });

  // Guards: INVALID_TOPIC echoed the whole topic back, however long.
  it('never echoes more than 256 characters of a topic (sub, pub, unsub)', async () => {
    const { clock, connect } = hubHarness({ limits: { maxPayload: 1024 * 1024, maxBufferedBytes: 1024 * 1024 } });
    const { socket, send } = await connect();
    send({ type: 'sub', topic: 'x'.repeat(500_000) });
    send({ type: 'pub', topic: 'y'.repeat(500_000), data: 1 });
    send({ type: 'unsub', topic: 'z'.repeat(500_000) });
    await clock.idle();
    const errors = socket.ofType('error');
    assert.deepEqual(errors.map((e) => e.code), [ErrorCode.InvalidTopic, ErrorCode.InvalidTopic, ErrorCode.InvalidTopic]);
    assert.deepEqual(errors.map((e) => e.topic?.length), [256, 256, undefined]);
    assert.equal(socket.ofType('unsubscribed').length, 0);
    assert.ok(socket.sent.every((text) => text.length < 1000));
  });
});

describe('catch-up bounds', () => {
  // Guards: a pump wrote every message of a 500-message read, whatever maxBufferedBytes said.
  it('stops catch-up at the send buffer, message by message, and goes on after a drain', async () => {
    const store: Store = new MemoryStore();
    const budgets: Array<number | undefined> = [];
    const read = store.read.bind(store);
    store.read = (topic, after, limit, maxBytes) => {
      budgets.push(maxBytes);
      return read(topic, after, limit, maxBytes);
    };
    const { clock, hub, connect } = hubHarness({ store, limits });
    for (let i = 1; i <= 20; i++) await hub.publish('t', i);
    const { socket, connection, send } = await connect();
    socket.send = (text) => {
      socket.sent.push(text);
      if (text.includes('"msg"')) socket.bufferedAmount += 4_000; // the peer reads nothing
    };
    send({ type: 'sub', topic: 't', from: 'start' });
    await clock.idle();
    const offsets = () => socket.ofType('msg').map((m) => m.offset);
    assert.deepEqual(offsets(), [1, 2, 3], 'the third message took the buffer over the limit');
    assert.ok(budgets.length > 0 && budgets.every((b) => b !== undefined && b <= SOFT), `a byte budget for each read: ${budgets}`);
    socket.bufferedAmount = 0;
    hub.drained(connection);
    await clock.idle();
    assert.deepEqual(offsets(), [1, 2, 3, 4, 5, 6]);
    for (let i = 0; i < 5; i++) {
      socket.bufferedAmount = 0;
      hub.drained(connection);
      await clock.idle();
    }
    assert.deepEqual(offsets(), Array.from({ length: 20 }, (_, i) => i + 1), 'every message once, in order');
  });
});

describe('input before welcome', () => {
  // Guards: early frames were counted (1000) but not sized: 1000 large frames were all kept.
  it('closes with 4400 past 1 MiB of frames before welcome, though under 1000 frames', async () => {
    let admit!: (id: string) => void;
    const { clock, connect } = hubHarness({ authenticate: () => new Promise((resolve) => (admit = resolve)) });
    const { socket, send } = await connect();
    const big = JSON.stringify({ type: 'pub', topic: 't', data: 'x'.repeat(100_000) });
    for (let i = 0; i < 11 && socket.closedWith === undefined; i++) send(big);
    assert.deepEqual(socket.closedWith, { code: CloseCode.ProtocolViolation, reason: ErrorCode.HelloRequired });
    assert.match(socket.ofType('error')[0]!.message, /1 MiB/);
    admit('ann');
    await clock.idle();
    assert.equal(socket.ofType('welcome').length, 0);
  });

  it('handles frames sent before welcome after it, in order; those after a congesting one wait for the drain', async () => {
    let admit!: (id: string) => void;
    const { clock, hub, connect } = hubHarness({ limits, authenticate: () => new Promise((resolve) => (admit = resolve)) });
    const { socket, connection, send } = await connect();
    for (const topic of ['a', 'b', 'c']) send({ type: 'unsub', topic });
    socket.bufferedAmount = SOFT + 1; // the welcome congests the connection
    admit('ann');
    await clock.idle();
    assert.equal(socket.ofType('welcome').length, 1);
    assert.equal(socket.ofType('unsubscribed').length, 0);
    socket.bufferedAmount = 0;
    hub.drained(connection);
    assert.deepEqual(socket.ofType('unsubscribed').map((f) => f.topic), ['a', 'b', 'c']);
  });
});

describe('kept reply bytes', () => {
  // Guards: kept replies were bounded in count only; a few huge replies could fill the session.
  it('holds further requests at maxKeptReplyBytes of unconfirmed replies, and runs them after confirmations', async () => {
    const { clock, connect } = hubHarness({ limits: { maxKeptReplyBytes: 1000 }, handlers: { big: () => 'x'.repeat(598) } });
    const peer = await connect();
    const replies = (seq: number) => peer.socket.ofType('reply').filter((r) => r.seq === seq).length;
    peer.send({ type: 'req', seq: 1, id: 'r1', method: 'big', data: null });
    peer.send({ type: 'req', seq: 2, id: 'r2', method: 'big', data: null });
    await clock.idle();
    assert.equal(peer.connection.session!.acks.ledger.keptBytes, 1200);
    peer.send({ type: 'req', seq: 3, id: 'r3', method: 'big', data: null });
    await clock.idle();
    assert.equal(replies(3), 0, 'waits while 1200 bytes are kept');
    assert.equal(peer.socket.paused, false, 'reading on: the confirmations come on this socket');
    peer.send({ type: 'ack', replies: [1] });
    await clock.idle();
    assert.equal(replies(3), 1);
  });

  it('counts restored replies and confirmations in the ledger', () => {
    const ledger = new InboundLedger(2, [], [
      { seq: 1, ok: true, data: 'abc' },
      { seq: 2, ok: false, error: { code: 'X', message: 'no' } },
    ]);
    assert.equal(ledger.keptBytes, 5 + JSON.stringify({ code: 'X', message: 'no' }).length);
    assert.equal(ledger.isFull(10, 100), false);
    assert.equal(ledger.isFull(2, 100), true);
    assert.equal(ledger.isFull(10, 5), true);
    ledger.confirmReplies([2, 2, 7]);
    assert.equal(ledger.keptBytes, 5);
    ledger.complete(3, { seq: 3, ok: true, data: null }, 4);
    assert.equal(ledger.keptBytes, 9, 'a size measured by the caller is taken as it is');
  });
});
