import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HoldfastError } from '../../src/client/index.js';
import type { PubFrame, ReqFrame } from '../../src/protocol/frames.js';
import { tick } from './fake-server.js';
import { accept, reconnect, settle, start, startOpen } from './harness.js';

const seqs = (frames: Array<{ seq?: number }>) => frames.map((f) => f.seq);

describe('HoldfastClient: session resume', () => {
  it('sends hello.resume with the newest session and token on reconnect', async () => {
    const h = await startOpen({ auth: 'secret' }, { session: 's1', token: 't1' });
    const second = await reconnect(h);
    second.accept();
    assert.deepEqual(second.sent[0], { type: 'hello', v: 1, auth: 'secret', resume: { session: 's1', token: 't1' } });
    second.welcome({ session: 's1', token: 't2', resumed: true });
    assert.deepEqual(h.opens.at(-1), { session: 's1', resumed: true });
    const third = await reconnect(h);
    third.accept();
    assert.deepEqual((third.sent[0] as { resume: unknown }).resume, { session: 's1', token: 't2' });
  });

  it('adopts the new session id when the server did not resume', async () => {
    const h = await startOpen({}, { session: 's1', token: 't1' });
    const second = await reconnect(h);
    second.accept();
    second.welcome({ session: 's9', token: 'u1', resumed: false });
    assert.equal(h.client.session, 's9');
  });

  it('resends unacknowledged frames with their original seq and id when resumed', async () => {
    const h = await startOpen();
    const p1 = settle(h.client.publish('chat', 'a'));
    const p2 = settle(h.client.publish('chat', 'b'));
    const r3 = settle(h.client.request('add', [1, 2]));
    await tick(); // frames after the first of a tick leave at its end
    const sentFirst = h.socket.take().filter((f) => f.type === 'pub' || f.type === 'req') as Array<PubFrame | ReqFrame>;
    assert.deepEqual(seqs(sentFirst), [1, 2, 3]);
    h.socket.push({ type: 'ack', seq: 1 });
    await tick();
    assert.equal(p1.done, true);
    const second = await reconnect(h);
    second.accept();
    second.welcome({ resumed: true });
    await tick(); // frames after the first of a tick leave at its end
    const resent = second.sent.filter((f) => f.type === 'pub' || f.type === 'req') as Array<PubFrame | ReqFrame>;
    assert.deepEqual(seqs(resent), [2, 3]);
    assert.deepEqual(resent.map((f) => f.id), sentFirst.slice(1).map((f) => f.id));
    assert.deepEqual(resent[0], { ...sentFirst[1] });
    assert.equal(p2.done, false);
    assert.equal(r3.done, false);
  });

  it('renumbers unacknowledged frames from 1 when the session was not resumed, keeping ids', async () => {
    const h = await startOpen();
    for (let i = 0; i < 4; i++) void h.client.publish('chat', i);
    await tick(); // frames after the first of a tick leave at its end
    const first = h.socket.take().filter((f) => f.type === 'pub') as PubFrame[];
    h.socket.push({ type: 'ack', seq: 2 });
    const second = await reconnect(h);
    second.accept();
    second.welcome({ session: 's2', resumed: false });
    await tick(); // frames after the first of a tick leave at its end
    const resent = second.sentOf('pub');
    assert.deepEqual(seqs(resent), [1, 2]);
    assert.deepEqual(resent.map((f) => f.id), [first[2]?.id, first[3]?.id]);
    assert.deepEqual(resent.map((f) => f.data), [2, 3]);
    void h.client.publish('chat', 'next');
    assert.equal(second.sentOf('pub').at(-1)?.seq, 3);
  });

  it('queues while connecting and sends in seq order after the welcome, after the subs', async () => {
    const h = await start();
    void h.client.publish('chat', 'early');
    h.client.subscribe('chat');
    void h.client.request('m', null);
    h.socket.accept();
    assert.deepEqual(h.socket.sent.map((f) => f.type), ['hello']);
    h.socket.welcome();
    await tick(); // frames after the first of a tick leave at its end
    assert.deepEqual(h.socket.sent.map((f) => f.type), ['hello', 'sub', 'pub', 'req']);
    assert.deepEqual(seqs(h.socket.sent.slice(2) as Array<{ seq: number }>), [1, 2]);
  });

  it('a publish from an open listener cannot overtake resent frames', async () => {
    const h = await startOpen();
    void h.client.publish('chat', 'old');
    h.client.on('open', () => void h.client.publish('chat', 'new'));
    const second = await reconnect(h);
    second.accept();
    second.welcome({ resumed: true });
    await tick(); // frames after the first of a tick leave at its end
    assert.deepEqual(second.sentOf('pub').map((f) => [f.seq, f.data]), [[1, 'old'], [2, 'new']]);
  });

  it('sends null for undefined data (undefined is not JSON)', async () => {
    const h = await startOpen();
    void h.client.publish('chat', undefined);
    assert.equal(h.socket.sentOf('pub')[0]?.data, null);
    assert.ok('data' in JSON.parse(h.socket.raw.at(-1)!));
  });
});

describe('HoldfastClient: publish', () => {
  it('a reliable publish carries seq, id and key, and resolves on a cumulative ack', async () => {
    const h = await startOpen();
    const a = settle(h.client.publish('prices', 1, { key: 'EUR' }));
    const b = settle(h.client.publish('prices', 2));
    const c = settle(h.client.publish('prices', 3));
    await tick(); // frames after the first of a tick leave at its end
    const pubs = h.socket.sentOf('pub');
    assert.equal(pubs[0]?.key, 'EUR');
    assert.equal('key' in pubs[1]!, false);
    assert.match(pubs[0]?.id ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(new Set(pubs.map((p) => p.id)).size, 3);
    h.socket.push({ type: 'ack', seq: 2 });
    await tick();
    assert.deepEqual([a.done, b.done, c.done], [true, true, false]);
    h.socket.push({ type: 'ack', seq: 3 });
    await tick();
    assert.equal(c.done, true);
  });

  it('rejects with the reply error code on ok:false', async () => {
    const h = await startOpen();
    const result = settle(h.client.publish('secret', 1));
    h.socket.push({ type: 'reply', seq: 1, ok: false, error: { code: 'FORBIDDEN', message: 'not yours' } });
    h.socket.push({ type: 'ack', seq: 1 });
    await tick();
    const error = result.error as HoldfastError;
    assert.deepEqual([error.name, error.code, error.message], ['HoldfastError', 'FORBIDDEN', 'not yours']);
  });

  it('fire-and-forget: no seq/id, resolves at once, dropped when not open', async () => {
    const h = await start();
    await h.client.publish('cursor', { x: 1 }, { reliable: false });
    h.socket.accept();
    h.socket.welcome();
    assert.equal(h.socket.sentOf('pub').length, 0, 'not queued');
    await h.client.publish('cursor', { x: 2 }, { reliable: false });
    assert.deepEqual(h.socket.sentOf('pub'), [{ type: 'pub', topic: 'cursor', data: { x: 2 } }]);
  });

  it('rejects OUTBOX_FULL at the limit, and accepts again once acked', async () => {
    const h = await start({ outboxLimit: 2 });
    void h.client.publish('t', 1);
    void h.client.request('m', 2);
    await assert.rejects(h.client.publish('t', 3), (e: HoldfastError) => e.code === 'OUTBOX_FULL');
    await assert.rejects(h.client.request('m', 3), (e: HoldfastError) => e.code === 'OUTBOX_FULL');
    accept(h);
    h.socket.push({ type: 'ack', seq: 1 });
    await tick();
    assert.equal((await settleAfter(h.client.publish('t', 4))).error, undefined);
  });

  it('checks the payload against 1 MiB before the first welcome', async () => {
    const h = await start();
    const big = 'x'.repeat(1024 * 1024); // 2 bytes of quotes over the limit
    await assert.rejects(h.client.publish('t', big), (e: HoldfastError) => e.code === 'PAYLOAD_TOO_LARGE');
    await assert.rejects(h.client.request('m', big), (e: HoldfastError) => e.code === 'PAYLOAD_TOO_LARGE');
    await assert.rejects(h.client.publish('t', big, { reliable: false }), (e: HoldfastError) => e.code === 'PAYLOAD_TOO_LARGE');
    void h.client.publish('t', 'x'.repeat(1024 * 1024 - 2));
    accept(h);
    await tick(); // frames after the first of a tick leave at its end
    assert.equal(h.socket.sentOf('pub').length, 1, 'exactly at the limit is fine; nothing else was queued');
  });

  it('checks the payload against welcome.limits.maxPayload, counting UTF-8 bytes', async () => {
    const h = await startOpen({}, { limits: { maxPayload: 10, maxDepth: 64, maxSubscriptions: 1, maxInFlight: 1 } });
    await assert.rejects(h.client.publish('t', 'ééééé'), (e: HoldfastError) => e.code === 'PAYLOAD_TOO_LARGE'); // 12 bytes
    void h.client.publish('t', 'éééé'); // 10 bytes
    assert.equal(h.socket.sentOf('pub').length, 1);
  });

  it('rejects invalid topics and non-JSON data locally', async () => {
    const h = await startOpen();
    await assert.rejects(h.client.publish('', 1), (e: HoldfastError) => e.code === 'INVALID_TOPIC');
    await assert.rejects(h.client.publish('a\nb', 1), (e: HoldfastError) => e.code === 'INVALID_TOPIC');
    await assert.rejects(h.client.publish('t', 10n), (e: HoldfastError) => e.code === 'INVALID_PAYLOAD');
    assert.equal(h.socket.sentOf('pub').length, 0);
  });

  it('rejects data nested deeper than welcome.limits.maxDepth locally', async () => {
    const h = await startOpen({}, { limits: { maxPayload: 1 << 20, maxDepth: 3, maxSubscriptions: 1, maxInFlight: 1 } });
    await assert.rejects(h.client.publish('t', [[[[1]]]]), (e: HoldfastError) => e.code === 'INVALID_PAYLOAD');
    await assert.rejects(h.client.request('m', { a: { b: { c: {} } } }), (e: HoldfastError) => e.code === 'INVALID_PAYLOAD');
    void h.client.publish('t', [[['three levels, with "[[[[" inside a string']]]);
    assert.equal(h.socket.sentOf('pub').length, 1);
  });
});

describe('HoldfastClient: request', () => {
  it('resolves with the reply data and confirms the reply seq in ack.replies', async () => {
    const h = await startOpen();
    const result = settle(h.client.request('add', [1, 2]));
    assert.deepEqual(h.socket.sentOf('req').map(({ id, ...rest }) => rest), [{ type: 'req', seq: 1, method: 'add', data: [1, 2] }]);
    h.socket.push({ type: 'reply', seq: 1, ok: true, data: 3 });
    h.socket.push({ type: 'ack', seq: 1 });
    await tick();
    assert.equal(result.value, 3);
    h.socket.take();
    h.clock.advance(50);
    assert.deepEqual(h.socket.take(), [{ type: 'ack', replies: [1] }]);
  });

  it('rejects with the reply error', async () => {
    const h = await startOpen();
    const result = settle(h.client.request('nope', null));
    h.socket.push({ type: 'reply', seq: 1, ok: false, error: { code: 'UNKNOWN_METHOD', message: 'no such method' } });
    await tick();
    assert.equal((result.error as HoldfastError).code, 'UNKNOWN_METHOD');
  });

  it('times out with REQUEST_TIMEOUT but keeps the request in the outbox until the server confirms it', async () => {
    const h = await startOpen({ requestTimeout: 30_000 });
    const result = settle(h.client.request('slow', null));
    const quick = settle(h.client.request('slow', null, { timeout: 100 }));
    h.clock.advance(100);
    await tick();
    assert.equal((quick.error as HoldfastError).code, 'REQUEST_TIMEOUT');
    h.clock.advance(29_900);
    await tick();
    assert.equal((result.error as HoldfastError).code, 'REQUEST_TIMEOUT');
    const second = await reconnect(h);
    second.accept();
    second.welcome({ resumed: true });
    await tick(); // frames after the first of a tick leave at its end
    assert.deepEqual(seqs(second.sentOf('req')), [1, 2], 'still resent');
    second.push({ type: 'reply', seq: 1, ok: true, data: 'late' });
    second.push({ type: 'reply', seq: 2, ok: true, data: 'late' });
    second.push({ type: 'ack', seq: 2 });
    const third = await reconnect(h);
    third.accept();
    third.welcome({ resumed: true });
    assert.equal(third.sentOf('req').length, 0, 'gone once replied and acked');
  });

  it('confirms replies for seqs it no longer knows', async () => {
    const h = await startOpen();
    h.socket.take();
    h.socket.push({ type: 'reply', seq: 77, ok: true, data: null });
    h.clock.advance(50);
    assert.deepEqual(h.socket.take(), [{ type: 'ack', replies: [77] }]);
  });

  it('keeps owed reply confirmations across a resumed reconnect, drops them for a new session', async () => {
    const h = await startOpen({ ackDelay: 1000 });
    h.socket.push({ type: 'reply', seq: 5, ok: true, data: null });
    const second = await reconnect(h);
    second.accept();
    second.welcome({ resumed: true });
    await tick(); // frames after the first of a tick leave at its end
    assert.deepEqual(second.sentOf('ack'), [{ type: 'ack', replies: [5] }]);
    second.push({ type: 'reply', seq: 6, ok: true, data: null });
    const third = await reconnect(h);
    third.accept();
    third.welcome({ resumed: false });
    assert.deepEqual(third.sentOf('ack'), []);
  });

  it('frames other than welcome/ping/error are ignored before the welcome', async () => {
    const h = await start();
    const result = settle(h.client.publish('t', 1));
    h.socket.accept();
    h.socket.push({ type: 'ack', seq: 1 });
    await tick();
    assert.equal(result.done, false);
  });
});

async function settleAfter<T>(promise: Promise<T>): Promise<{ error: unknown }> {
  const state = settle(promise);
  await tick();
  return state;
}
