import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HoldfastError, MessageMeta, SubscribedInfo } from '../../src/client/index.js';
import type { SubscribedFrame } from '../../src/protocol/frames.js';
import { tick } from './fake-server.js';
import { reconnect, start, startOpen } from './harness.js';

function subscribed(topic: string, overrides: Partial<SubscribedFrame> = {}): SubscribedFrame {
  return { type: 'subscribed', topic, mode: 'reliable', epoch: 'e1', offset: 0, recovering: false, recovered: true, ...overrides };
}

function collect() {
  const seen: Array<[unknown, MessageMeta]> = [];
  return { seen, listener: (data: unknown, meta: MessageMeta) => seen.push([data, meta]) };
}

describe('HoldfastClient: subscribe', () => {
  it('sends sub with from, resolves ready on subscribed and sets mode/position/recovered', async () => {
    const h = await startOpen();
    const subscription = h.client.subscribe('chat', undefined, { from: 'start' });
    assert.equal(subscription.state, 'subscribing');
    assert.deepEqual(h.socket.sentOf('sub'), [{ type: 'sub', topic: 'chat', from: 'start' }]);
    h.socket.push(subscribed('chat', { epoch: 'e1', offset: 4 }));
    const info = await subscription.ready;
    assert.deepEqual(info, { mode: 'reliable', epoch: 'e1', offset: 4, recovering: false, recovered: true, resubscribe: false });
    assert.equal(subscription.state, 'subscribed');
    assert.equal(subscription.mode, 'reliable');
    assert.deepEqual(subscription.position, { epoch: 'e1', offset: 4 });
    assert.equal(subscription.recovered, true);
  });

  it('sends a bare sub without from or position, and a position when given', async () => {
    const h = await startOpen();
    h.client.subscribe('a');
    h.client.subscribe('b', undefined, { position: { epoch: 'e7', offset: 41 }, from: 'start' });
    await tick(); // frames after the first of a tick leave at its end
    assert.deepEqual(h.socket.sentOf('sub'), [
      { type: 'sub', topic: 'a' },
      { type: 'sub', topic: 'b', epoch: 'e7', offset: 41 },
    ]);
  });

  it('subscribing twice returns the same Subscription and adds the listener', async () => {
    const h = await startOpen();
    const one = collect();
    const two = collect();
    const first = h.client.subscribe('chat', one.listener);
    const second = h.client.subscribe('chat', two.listener);
    assert.equal(first, second);
    assert.equal(h.socket.sentOf('sub').length, 1);
    h.socket.push(subscribed('chat'));
    h.socket.push({ type: 'msg', topic: 'chat', offset: 1, data: 'hi' });
    assert.equal(one.seen.length, 1);
    assert.equal(two.seen.length, 1);
  });

  it('delivers in order, drops duplicates by offset, and passes key and offset in meta', async () => {
    const h = await startOpen();
    const { seen, listener } = collect();
    const subscription = h.client.subscribe('prices', listener);
    h.socket.push(subscribed('prices', { mode: 'latest', offset: 2 }));
    h.socket.push({ type: 'msg', topic: 'prices', offset: 2, data: 'old' }); // at the position: seen before
    h.socket.push({ type: 'msg', topic: 'prices', offset: 3, data: 'a', key: 'EUR' });
    h.socket.push({ type: 'msg', topic: 'prices', offset: 3, data: 'a again' });
    h.socket.push({ type: 'msg', topic: 'prices', offset: 7, data: 'b' }); // gaps are fine (latest)
    h.socket.push({ type: 'msg', topic: 'prices', offset: 5, data: 'stale' });
    assert.deepEqual(seen, [
      ['a', { topic: 'prices', offset: 3, key: 'EUR' }],
      ['b', { topic: 'prices', offset: 7 }],
    ]);
    assert.deepEqual(subscription.position, { epoch: 'e1', offset: 7 });
  });

  it('always delivers volatile messages (no offset) and keeps no position', async () => {
    const h = await startOpen();
    const { seen, listener } = collect();
    const subscription = h.client.subscribe('typing', listener);
    h.socket.push(subscribed('typing', { mode: 'volatile', epoch: '', offset: 0 }));
    h.socket.push({ type: 'msg', topic: 'typing', data: 1 });
    h.socket.push({ type: 'msg', topic: 'typing', data: 1 });
    assert.equal(seen.length, 2);
    assert.equal(subscription.position, undefined);
    assert.deepEqual(seen[0]?.[1], { topic: 'typing' });
    h.clock.advance(100);
    assert.equal(h.socket.sentOf('ack').length, 0, 'nothing to acknowledge');
  });

  it('ignores messages before subscribed and for unknown topics', async () => {
    const h = await startOpen();
    const { seen, listener } = collect();
    h.client.subscribe('chat', listener);
    h.socket.push({ type: 'msg', topic: 'chat', offset: 1, data: 'early' });
    h.socket.push({ type: 'msg', topic: 'other', offset: 1, data: 'x' });
    assert.equal(seen.length, 0);
  });

  it('emits subscribed with the snapshot when history was lost', async () => {
    const h = await startOpen();
    const infos: SubscribedInfo[] = [];
    const subscription = h.client.subscribe('chat', undefined, { position: { epoch: 'e1', offset: 41 } });
    subscription.on('subscribed', (info) => infos.push(info));
    h.socket.push(subscribed('chat', { offset: 9000, recovering: true, recovered: false, snapshot: { count: 3 } }));
    assert.deepEqual(infos, [{ mode: 'reliable', epoch: 'e1', offset: 9000, recovering: true, recovered: false, snapshot: { count: 3 }, resubscribe: false }]);
    assert.equal(subscription.recovered, false);
    assert.deepEqual(subscription.position, { epoch: 'e1', offset: 9000 });
  });

  it('a handler exception is reported as an error and the message still counts as delivered', async () => {
    const h = await startOpen();
    const subscription = h.client.subscribe('chat', () => {
      throw new Error('app bug');
    });
    h.socket.push(subscribed('chat'));
    h.socket.push({ type: 'msg', topic: 'chat', offset: 1, data: 1 });
    assert.equal(h.errors.length, 1);
    assert.equal(h.errors[0]?.code, 'HANDLER_ERROR');
    assert.match(h.errors[0]?.message ?? '', /app bug/);
    assert.ok((h.errors[0]?.cause as Error).message === 'app bug');
    assert.deepEqual(subscription.position, { epoch: 'e1', offset: 1 });
    h.clock.advance(50);
    await tick(); // frames after the first of a tick leave at its end
    assert.deepEqual(h.socket.sentOf('ack'), [{ type: 'ack', offsets: { chat: 1 } }]);
  });
});

describe('HoldfastClient: acknowledgements of messages', () => {
  it('batches by delay: one ack with the highest offset per topic after ackDelay', async () => {
    const h = await startOpen({ ackDelay: 50 });
    h.client.subscribe('a');
    h.client.subscribe('b');
    h.socket.push(subscribed('a'));
    h.socket.push(subscribed('b'));
    const timersBefore = h.clock.pending;
    for (let i = 1; i <= 10; i++) h.socket.push({ type: 'msg', topic: 'a', offset: i, data: i });
    h.socket.push({ type: 'msg', topic: 'b', offset: 3, data: 3 });
    assert.equal(h.clock.pending, timersBefore + 1, 'one ack timer, not one per message');
    h.clock.advance(49);
    assert.equal(h.socket.sentOf('ack').length, 0);
    h.clock.advance(1);
    await tick(); // frames after the first of a tick leave at its end
    assert.deepEqual(h.socket.sentOf('ack'), [{ type: 'ack', offsets: { a: 10, b: 3 } }]);
  });

  it('batches by count: flushes at ackBatch messages without waiting', async () => {
    const h = await startOpen({ ackBatch: 100, ackDelay: 10_000 });
    h.client.subscribe('a');
    h.socket.push(subscribed('a'));
    for (let i = 1; i <= 250; i++) h.socket.push({ type: 'msg', topic: 'a', offset: i, data: i });
    await tick(); // frames after the first of a tick leave at its end
    assert.deepEqual(h.socket.sentOf('ack'), [
      { type: 'ack', offsets: { a: 100 } },
      { type: 'ack', offsets: { a: 200 } },
    ]);
    h.clock.advance(10_000);
    assert.deepEqual(h.socket.sentOf('ack').at(-1), { type: 'ack', offsets: { a: 250 } });
  });

  it('does not acknowledge duplicates again', async () => {
    const h = await startOpen();
    h.client.subscribe('a');
    h.socket.push(subscribed('a', { offset: 5 }));
    h.socket.push({ type: 'msg', topic: 'a', offset: 5, data: 5 });
    h.clock.advance(100);
    assert.equal(h.socket.sentOf('ack').length, 0);
  });

  it('skips the flush while disconnected (the sub carries the position)', async () => {
    const h = await startOpen({ ackDelay: 50 });
    h.client.subscribe('a');
    h.socket.push(subscribed('a'));
    h.socket.push({ type: 'msg', topic: 'a', offset: 1, data: 1 });
    const first = h.socket;
    first.drop();
    h.clock.advance(50);
    assert.equal(first.sentOf('ack').length, 0);
    h.clock.advance(450); // the retry
    await tick();
    const second = h.socket;
    assert.notEqual(second, first);
    second.accept();
    second.welcome({ resumed: true });
    await tick(); // frames after the first of a tick leave at its end
    assert.deepEqual(second.sentOf('sub'), [{ type: 'sub', topic: 'a', epoch: 'e1', offset: 1 }]);
    assert.equal(second.sentOf('ack').length, 0);
  });
});

describe('HoldfastClient: subscriptions across reconnects', () => {
  it('re-subscribes every active subscription from its position, or its original from', async () => {
    const h = await startOpen();
    const chat = h.client.subscribe('chat', undefined, { from: 'start' });
    h.client.subscribe('news', undefined, { from: 'now' });
    h.socket.push(subscribed('chat', { offset: 0 }));
    h.socket.push({ type: 'msg', topic: 'chat', offset: 1, data: 1 });
    h.socket.push({ type: 'msg', topic: 'chat', offset: 2, data: 2 });
    const states: string[] = [];
    chat.on('state', (change) => states.push(`${change.oldState}>${change.newState}`));
    const second = await reconnect(h);
    assert.equal(chat.state, 'subscribing');
    second.accept();
    second.welcome({ resumed: true });
    await tick(); // frames after the first of a tick leave at its end
    assert.deepEqual(second.sentOf('sub'), [
      { type: 'sub', topic: 'chat', epoch: 'e1', offset: 2 },
      { type: 'sub', topic: 'news', from: 'now' },
    ]);
    const infos: SubscribedInfo[] = [];
    chat.on('subscribed', (info) => infos.push(info));
    second.push(subscribed('chat', { offset: 2, recovering: true, recovered: true }));
    assert.equal(infos[0]?.resubscribe, true);
    assert.deepEqual(states, ['subscribed>subscribing', 'subscribing>subscribed']);
  });

  it('delivers replayed messages exactly once across a reconnect', async () => {
    const h = await startOpen();
    const { seen, listener } = collect();
    h.client.subscribe('chat', listener);
    h.socket.push(subscribed('chat'));
    for (let i = 1; i <= 3; i++) h.socket.push({ type: 'msg', topic: 'chat', offset: i, data: i });
    const second = await reconnect(h);
    second.accept();
    second.welcome({ resumed: true });
    await tick(); // frames after the first of a tick leave at its end
    assert.deepEqual(second.sentOf('sub'), [{ type: 'sub', topic: 'chat', epoch: 'e1', offset: 3 }]);
    second.push(subscribed('chat', { offset: 3, recovering: true, recovered: true }));
    // a resend overlapping what was already handed over (e.g. a flow-control catch-up from the store)
    for (let i = 2; i <= 5; i++) second.push({ type: 'msg', topic: 'chat', offset: i, data: i });
    assert.deepEqual(seen.map(([data]) => data), [1, 2, 3, 4, 5]);
  });

  it('takes a new epoch from subscribed and continues after its offset', async () => {
    const h = await startOpen();
    const { seen, listener } = collect();
    const subscription = h.client.subscribe('chat', listener);
    h.socket.push(subscribed('chat'));
    for (let i = 1; i <= 50; i++) h.socket.push({ type: 'msg', topic: 'chat', offset: i, data: i });
    const second = await reconnect(h);
    second.accept();
    second.welcome({ resumed: true });
    second.push(subscribed('chat', { epoch: 'e2', offset: 0, recovering: true, recovered: false }));
    second.push({ type: 'msg', topic: 'chat', offset: 1, data: 'new history' });
    assert.equal(seen.at(-1)?.[0], 'new history');
    assert.deepEqual(subscription.position, { epoch: 'e2', offset: 1 });
  });

  it('re-subscribes even when the server started a new session', async () => {
    const h = await startOpen();
    h.client.subscribe('chat');
    h.socket.push(subscribed('chat', { offset: 10 }));
    const second = await reconnect(h);
    second.accept();
    second.welcome({ resumed: false, session: 's2' });
    await tick(); // frames after the first of a tick leave at its end
    assert.deepEqual(second.sentOf('sub'), [{ type: 'sub', topic: 'chat', epoch: 'e1', offset: 10 }]);
  });
});

describe('HoldfastClient: refusal and unsubscribe', () => {
  it('a refusal fails the subscription, rejects ready, emits its error and forgets it', async () => {
    const h = await startOpen();
    const subscription = h.client.subscribe('secret');
    const errors: HoldfastError[] = [];
    subscription.on('error', (error) => errors.push(error));
    h.socket.push({ type: 'error', code: 'FORBIDDEN', message: 'not for you', topic: 'secret', for: 'sub' });
    await assert.rejects(subscription.ready, (e: HoldfastError) => e.code === 'FORBIDDEN');
    assert.equal(subscription.state, 'failed');
    assert.deepEqual(errors.map((e) => e.code), ['FORBIDDEN']);
    assert.equal(h.errors.length, 0, 'not a client-level error');
    const again = h.client.subscribe('secret');
    assert.notEqual(again, subscription, 'forgotten: a new subscribe is a new Subscription');
    const second = await reconnect(h);
    second.accept();
    second.welcome();
    await tick(); // frames after the first of a tick leave at its end
    assert.deepEqual(second.sentOf('sub').map((f) => f.topic), ['secret'], 'only the new one');
  });

  it('a STORE_UNAVAILABLE refusal is not final: the sub is sent again a second later, from the same position', async () => {
    // Found by `npm run chaos -- --seed 2026 --minutes 4 --nodes 5 --pace 25 --publishers 4 --subscribers 4`:
    // a subscriber whose resubscription met a Redis outage was refused once and then got nothing
    // more, for good, while its client kept reconnecting. PROTOCOL.md: the `sub` "may be sent again".
    const h = await startOpen();
    const { seen, listener } = collect();
    const subscription = h.client.subscribe('chat', listener, { position: { epoch: 'e1', offset: 7 } });
    const errors: HoldfastError[] = [];
    subscription.on('error', (error) => errors.push(error));
    let settled = false;
    void subscription.ready.then(() => (settled = true), () => (settled = true));
    h.socket.push({ type: 'error', code: 'STORE_UNAVAILABLE', message: 'the store failed; subscribe again', topic: 'chat', for: 'sub' });
    await tick();
    assert.deepEqual(errors.map((e) => e.code), ['STORE_UNAVAILABLE'], 'told, as an error event of the subscription');
    assert.equal(subscription.state, 'subscribing');
    assert.equal(settled, false, 'ready still waits');
    assert.equal(h.socket.sentOf('sub').length, 1);
    h.clock.advance(999);
    await tick();
    assert.equal(h.socket.sentOf('sub').length, 1, 'not before the second is up');
    h.clock.advance(1);
    await tick();
    assert.deepEqual(h.socket.sentOf('sub'), [
      { type: 'sub', topic: 'chat', epoch: 'e1', offset: 7 },
      { type: 'sub', topic: 'chat', epoch: 'e1', offset: 7 },
    ]);
    h.socket.push(subscribed('chat', { offset: 7, recovering: true }));
    h.socket.push({ type: 'msg', topic: 'chat', offset: 8, data: 'after the outage' });
    assert.equal((await subscription.ready).offset, 7);
    assert.equal(subscription.state, 'subscribed');
    assert.deepEqual(seen.map(([data]) => data), ['after the outage']);
    assert.equal(h.errors.length, 0, 'not a client-level error');
  });

  it('a sub refused for STORE_UNAVAILABLE is sent once per connection: a reconnect meanwhile sends it, the timer does not again', async () => {
    const h = await startOpen();
    const subscription = h.client.subscribe('chat');
    h.socket.push({ type: 'error', code: 'STORE_UNAVAILABLE', message: 'the store failed; subscribe again', topic: 'chat', for: 'sub' });
    const second = await reconnect(h);
    second.accept();
    second.welcome({ resumed: true });
    await tick();
    assert.equal(second.sentOf('sub').length, 1, 'restored by the new connection');
    h.clock.advance(5000);
    await tick();
    assert.equal(second.sentOf('sub').length, 1, 'the old retry is void');
    second.push(subscribed('chat'));
    assert.equal(subscription.state, 'subscribed');
    subscription.unsubscribe();
    second.push({ type: 'error', code: 'STORE_UNAVAILABLE', message: 'x', topic: 'chat', for: 'sub' });
    h.clock.advance(5000);
    await tick();
    assert.equal(second.sentOf('sub').length, 1, 'nothing after unsubscribe');
  });

  it('an error about a fire-and-forget pub is a client error, even while the sub awaits its answer', async () => {
    const h = await startOpen();
    const subscription = h.client.subscribe('chat');
    h.socket.push({ type: 'error', code: 'FORBIDDEN', message: 'no publishing', topic: 'chat', for: 'pub' });
    assert.equal(subscription.state, 'subscribing', 'not taken for a refusal of the sub');
    h.socket.push(subscribed('chat'));
    h.socket.push({ type: 'error', code: 'PAYLOAD_TOO_LARGE', message: 'too big', topic: 'chat', for: 'pub' });
    assert.equal(subscription.state, 'subscribed');
    assert.deepEqual(h.errors.map((e) => e.code), ['FORBIDDEN', 'PAYLOAD_TOO_LARGE']);
  });

  it('unsubscribe() sends unsub and stops delivering at once', async () => {
    const h = await startOpen();
    const { seen, listener } = collect();
    const subscription = h.client.subscribe('chat', listener);
    h.socket.push(subscribed('chat'));
    h.socket.push({ type: 'msg', topic: 'chat', offset: 1, data: 1 });
    subscription.unsubscribe();
    assert.equal(subscription.state, 'unsubscribed');
    await tick(); // frames after the first of a tick leave at its end
    assert.deepEqual(h.socket.sentOf('unsub'), [{ type: 'unsub', topic: 'chat' }]);
    h.socket.push({ type: 'msg', topic: 'chat', offset: 2, data: 2 }); // in flight before unsubscribed
    h.socket.push({ type: 'unsubscribed', topic: 'chat' });
    assert.equal(seen.length, 1);
    subscription.unsubscribe();
    assert.equal(h.socket.sentOf('unsub').length, 1, 'idempotent');
    const second = await reconnect(h);
    second.accept();
    second.welcome({ resumed: true });
    assert.equal(second.sentOf('sub').length, 0, 'not restored');
  });

  it('unsubscribe before subscribed rejects ready', async () => {
    const h = await startOpen();
    const subscription = h.client.subscribe('chat');
    subscription.unsubscribe();
    await assert.rejects(subscription.ready);
  });

  it('unsubscribe while disconnected sends nothing and does not resubscribe', async () => {
    const h = await startOpen();
    const subscription = h.client.subscribe('chat');
    h.socket.drop();
    subscription.unsubscribe();
    await tick();
    h.clock.advance(1000);
    await tick();
    h.socket.accept();
    h.socket.welcome();
    assert.deepEqual(h.socket.sent.map((f) => f.type), ['hello']);
  });

  it('frames of an old subscription in flight are not taken for a new one on the same topic', async () => {
    const h = await startOpen();
    const old = h.client.subscribe('chat', undefined, { from: 'start' });
    old.unsubscribe();
    const { seen, listener } = collect();
    const fresh = h.client.subscribe('chat', listener, { from: 'now' });
    await tick(); // frames after the first of a tick leave at its end
    assert.deepEqual(h.socket.sentOf('sub').map((f) => f.from), ['start', 'now']);
    // the server answers in order: the old sub, its messages, the unsub, then the new sub
    h.socket.push(subscribed('chat', { offset: 0 }));
    h.socket.push({ type: 'msg', topic: 'chat', offset: 1, data: 'old' });
    h.socket.push({ type: 'error', code: 'FORBIDDEN', message: 'x', topic: 'chat', for: 'sub' });
    assert.equal(fresh.state, 'subscribing');
    h.socket.push({ type: 'unsubscribed', topic: 'chat' });
    h.socket.push(subscribed('chat', { offset: 1 }));
    h.socket.push({ type: 'msg', topic: 'chat', offset: 2, data: 'new' });
    assert.equal(fresh.state, 'subscribed');
    assert.deepEqual(seen.map(([d]) => d), ['new']);
  });

  it('subscription listeners can be removed', async () => {
    const h = await startOpen();
    const { seen, listener } = collect();
    const subscription = h.client.subscribe('chat');
    const off = subscription.on('message', listener);
    h.socket.push(subscribed('chat'));
    h.socket.push({ type: 'msg', topic: 'chat', offset: 1, data: 1 });
    off();
    h.socket.push({ type: 'msg', topic: 'chat', offset: 2, data: 2 });
    assert.equal(seen.length, 1);
  });

  it('an invalid topic fails at once without a frame', async () => {
    const h = await startOpen();
    const subscription = h.client.subscribe('x'.repeat(257));
    assert.equal(subscription.state, 'failed');
    await assert.rejects(subscription.ready, (e: HoldfastError) => e.code === 'INVALID_TOPIC');
    assert.equal(h.socket.sentOf('sub').length, 0);
  });

  it('subscriptions made while connecting are sent after the welcome', async () => {
    const h = await start();
    h.client.subscribe('chat');
    h.socket.accept();
    h.socket.welcome();
    await tick(); // frames after the first of a tick leave at its end
    assert.deepEqual(h.socket.sentOf('sub'), [{ type: 'sub', topic: 'chat' }]);
  });
});
