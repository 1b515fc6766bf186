import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Outbox } from '../../src/client/outbox.js';
import { messageId } from '../../src/client/message-id.js';
import { HoldfastError } from '../../src/protocol/errors.js';
import { FakeClock } from '../support/fake-clock.js';
import { settle } from './harness.js';

function setup(limit = 100) {
  const clock = new FakeClock();
  let n = 0;
  const outbox = new Outbox(clock, limit, () => `id-${++n}`);
  return { clock, outbox };
}

const pub = (topic = 't', data: unknown = 1) => ({ type: 'pub' as const, topic, data });
const req = (method = 'm', data: unknown = 1) => ({ type: 'req' as const, method, data });
const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('Outbox', () => {
  it('numbers frames from 1 and gives each its own id', () => {
    const { outbox } = setup();
    assert.deepEqual(outbox.add(pub('a')).frame, { type: 'pub', topic: 'a', data: 1, seq: 1, id: 'id-1' });
    assert.deepEqual(outbox.add(req('add', [1, 2])).frame, { type: 'req', method: 'add', data: [1, 2], seq: 2, id: 'id-2' });
    assert.deepEqual(outbox.frames().map((f) => f.seq), [1, 2]);
  });

  it('a cumulative ack resolves every pub up to its seq', async () => {
    const { outbox } = setup();
    const results = [1, 2, 3].map(() => settle(outbox.add(pub()).promise));
    outbox.acknowledge(2);
    await flush();
    assert.deepEqual(results.map((r) => r.done), [true, true, false]);
    assert.deepEqual(outbox.frames().map((f) => f.seq), [3]);
  });

  it('a reply with ok:false rejects a pub with the server code; the ack then removes it', async () => {
    const { outbox } = setup();
    const result = settle(outbox.add(pub('secret')).promise);
    outbox.reply({ type: 'reply', seq: 1, ok: false, error: { code: 'FORBIDDEN', message: 'no' } });
    await flush();
    assert.ok(result.error instanceof HoldfastError);
    assert.equal(result.error.code, 'FORBIDDEN');
    assert.equal(result.error.message, 'no');
    assert.equal(outbox.size, 1, 'kept until the ack covers it');
    outbox.acknowledge(1);
    assert.equal(outbox.size, 0);
  });

  it('a req resolves with the reply data, not with the ack', async () => {
    const { outbox } = setup();
    const result = settle(outbox.add(req()).promise);
    outbox.reply({ type: 'reply', seq: 1, ok: true, data: 3 });
    await flush();
    assert.equal(result.value, 3);
    assert.equal(outbox.size, 1);
    outbox.acknowledge(1);
    assert.equal(outbox.size, 0);
  });

  it('a req acked without a reply stays, so a resend fetches the kept reply', async () => {
    const { outbox } = setup();
    const result = settle(outbox.add(req()).promise);
    outbox.acknowledge(1);
    await flush();
    assert.equal(result.done, false);
    assert.equal(outbox.size, 1);
    outbox.reply({ type: 'reply', seq: 1, ok: false, error: { code: 'HANDLER_ERROR', message: 'boom' } });
    await flush();
    assert.equal((result.error as HoldfastError).code, 'HANDLER_ERROR');
    assert.equal(outbox.size, 0);
  });

  it('a request timeout rejects the caller but keeps the entry', async () => {
    const { clock, outbox } = setup();
    const result = settle(outbox.add(req(), 1000).promise);
    clock.advance(999);
    await flush();
    assert.equal(result.done, false);
    clock.advance(1);
    await flush();
    assert.equal((result.error as HoldfastError).code, 'REQUEST_TIMEOUT');
    assert.equal(outbox.size, 1);
    outbox.reply({ type: 'reply', seq: 1, ok: true, data: 'late' });
    outbox.acknowledge(1);
    assert.equal(outbox.size, 0);
  });

  it('a reply clears the request timer', () => {
    const { clock, outbox } = setup();
    void outbox.add(req(), 1000).promise;
    outbox.reply({ type: 'reply', seq: 1, ok: true, data: null });
    assert.equal(clock.pending, 0);
  });

  it('renumbers from 1 in order, keeping ids', () => {
    const { outbox } = setup();
    for (let i = 0; i < 5; i++) void outbox.add(pub('t', i)).promise.catch(() => {});
    outbox.acknowledge(2);
    outbox.renumber();
    assert.deepEqual(outbox.frames().map((f) => [f.seq, f.id, (f as { data: unknown }).data]), [
      [1, 'id-3', 2],
      [2, 'id-4', 3],
      [3, 'id-5', 4],
    ]);
    assert.equal(outbox.add(pub()).frame.seq, 4);
  });

  it('drops entries that already have their reply when renumbering', async () => {
    const { outbox } = setup();
    const rejected = outbox.add(pub('t', 'refused')).promise;
    void outbox.add(pub('t', 'waiting')).promise;
    outbox.reply({ type: 'reply', seq: 1, ok: false, error: { code: 'STORE_UNAVAILABLE', message: 'down' } });
    await assert.rejects(rejected, (e: HoldfastError) => e.code === 'STORE_UNAVAILABLE');
    outbox.renumber();
    assert.deepEqual(outbox.frames().map((f) => [f.seq, (f as { data: unknown }).data]), [[1, 'waiting']], 'the refused publish is not resent');
  });

  it('an ack of the old session does not survive renumbering', () => {
    const { outbox } = setup();
    void outbox.add(req()).promise;
    outbox.acknowledge(1); // acked, no reply yet
    outbox.renumber();
    outbox.reply({ type: 'reply', seq: 1, ok: true, data: 1 });
    assert.equal(outbox.size, 1, 'still waits for an ack of the new session');
  });

  it('ignores replies and acks for unknown seqs', () => {
    const { outbox } = setup();
    outbox.reply({ type: 'reply', seq: 42, ok: true, data: 1 });
    outbox.acknowledge(42);
    assert.equal(outbox.size, 0);
  });

  it('is full at its limit', () => {
    const { outbox } = setup(2);
    void outbox.add(pub()).promise;
    assert.equal(outbox.isFull, false);
    void outbox.add(pub()).promise;
    assert.equal(outbox.isFull, true);
  });

  it('rejectAll rejects every pending caller and empties the outbox', async () => {
    const { clock, outbox } = setup();
    const a = settle(outbox.add(pub()).promise);
    const b = settle(outbox.add(req(), 5000).promise);
    outbox.rejectAll(new HoldfastError('CLIENT_CLOSED', 'closed'));
    await flush();
    assert.equal((a.error as HoldfastError).code, 'CLIENT_CLOSED');
    assert.equal((b.error as HoldfastError).code, 'CLIENT_CLOSED');
    assert.equal(outbox.size, 0);
    assert.equal(clock.pending, 0);
  });

  it('makes time-ordered UUIDv7 ids: unique, and sorted by creation time', () => {
    const v7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    const ids = Array.from({ length: 100 }, (_, i) => messageId(1_700_000_000_000 + i * 1000));
    assert.equal(new Set(ids).size, 100);
    for (const id of ids) assert.match(id, v7);
    assert.deepEqual([...ids].sort(), ids, 'string order is time order');
    assert.equal(messageId(0x0123456789ab).slice(0, 13), '01234567-89ab', 'the first 48 bits are the time');
    assert.match(messageId(), v7);
  });
});
