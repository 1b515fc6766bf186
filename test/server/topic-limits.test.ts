import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode, isHoldfastError } from '../../src/protocol/index.js';
import { TopicDirectory } from '../../src/server/topics.js';
import { hubHarness, type Peer } from '../support/hub-harness.js';
import { MemoryStore } from '../../src/store/memory/index.js';

/** What the hub answered per reliable seq: 'ok' (acknowledged without a reply) or the refusal's code. */
function outcomes(peer: Peer, seqs: number[]): Record<number, string> {
  const acked = Math.max(0, ...peer.socket.ofType('ack').map((ack) => ack.seq));
  const replies = new Map(peer.socket.ofType('reply').map((reply) => [reply.seq, reply]));
  const result: Record<number, string> = {};
  for (const seq of seqs) {
    const reply = replies.get(seq);
    result[seq] = reply === undefined ? (seq <= acked ? 'ok' : 'pending') : reply.ok ? 'ok' : reply.error.code;
  }
  return result;
}

const pub = (seq: number, topic: string, extra: object = {}) => ({ type: 'pub', topic, data: seq, seq, id: `p${seq}`, ...extra });

describe('Topic creation budget (limits.topicCreation)', () => {
  // Guards issue 10 item 6: one anonymous client created 300,000 topics in 33 s. A connection now
  // creates at most `burst` topics at once and `perSecond` after, publishes in one batch included;
  // publishes to topics that exist are not counted.
  it('lets a connection create burst topics, then perSecond, and never counts existing topics', async () => {
    const store = new MemoryStore();
    const { clock, connect } = hubHarness({ store, limits: { topicCreation: { perSecond: 2, burst: 3 } } });
    const peer = await connect();
    // One message, so one append batch: the tokens are taken before the store answers.
    const frames = [pub(1, 'a'), pub(2, 'b'), pub(3, 'c'), ...Array.from({ length: 10 }, (_, i) => pub(4 + i, 'a')), pub(14, 'd')];
    peer.send(frames.map((frame) => JSON.stringify(frame)).join('\n'));
    await clock.idle();
    const seqs = Array.from({ length: 14 }, (_, i) => i + 1);
    assert.deepEqual(outcomes(peer, seqs), { ...Object.fromEntries(seqs.map((seq) => [seq, 'ok'])), 14: ErrorCode.TooManyTopics });
    const refusal = peer.socket.ofType('reply').find((reply) => reply.seq === 14)!;
    assert.match(!refusal.ok ? refusal.error.message : '', /faster than 2 per second/);
    assert.equal((await store.info('d')).head, 0, 'd was not created');

    clock.advance(499);
    peer.send(pub(15, 'e'));
    await clock.idle();
    assert.equal(outcomes(peer, [15])[15], ErrorCode.TooManyTopics, 'less than one token after 499 ms');
    clock.advance(1);
    peer.send(pub(16, 'e'));
    peer.send(pub(17, 'f'));
    await clock.idle();
    assert.deepEqual(outcomes(peer, [16, 17]), { 16: 'ok', 17: ErrorCode.TooManyTopics }, 'one token per 500 ms');

    // Fire-and-forget: an error naming the topic.
    peer.send({ type: 'pub', topic: 'g', data: 1 });
    peer.send({ type: 'pub', topic: 'a', data: 2 });
    await clock.idle();
    const errors = peer.socket.ofType('error');
    assert.deepEqual(
      errors.map((e) => [e.code, e.topic, e.for]),
      [[ErrorCode.TooManyTopics, 'g', 'pub']],
    );
    assert.equal((await store.info('a')).head, 12, 'every publish to the existing topic went in');

    // Each connection has its own budget; the server's own publishes have none.
    const other = await connect();
    other.send(pub(1, 'h'));
    await clock.idle();
    assert.deepEqual(outcomes(other, [1]), { 1: 'ok' });
  });

  it('gives the token back when the append did not create the topic (the topic existed, or the store refused)', async () => {
    const store = new MemoryStore({ maxTopics: 2 });
    const { clock, connect, hub } = hubHarness({ store, limits: { topicCreation: { perSecond: 1, burst: 2 } } });
    await hub.publish('x', 0);
    await hub.publish('y', 0);
    const peer = await connect();
    peer.send(pub(1, 'z')); // the store is full: refused, the token comes back
    peer.send(pub(2, 'z'));
    await clock.idle();
    assert.deepEqual(outcomes(peer, [1, 2]), { 1: ErrorCode.TooManyTopics, 2: ErrorCode.TooManyTopics });
    assert.match(peer.socket.ofType('reply').map((r) => (!r.ok ? r.error.message : ''))[0]!, /most topics/, "the store's refusal, not the budget's");
    await store.trim('x', { maxCount: 0 }, 0); // forgotten: room for two new topics
    peer.send(pub(3, 'z'));
    peer.send(pub(4, 'w'));
    await clock.idle();
    assert.deepEqual(outcomes(peer, [3, 4]), { 3: 'ok', 4: ErrorCode.TooManyTopics }, 'both tokens were given back; w hit the store limit');
  });
});

describe('Key cap of latest topics (TopicOptions.maxKeys)', () => {
  // Guards issue 10 item 8: a `latest` topic grew one value per key without bound.
  it('refuses a new key beyond maxKeys to clients (reply, error) and to hub.publish; existing keys update', async () => {
    const store = new MemoryStore();
    const { clock, hub, connect } = hubHarness({ store, topics: { prices: { mode: 'latest', maxKeys: 2 }, log: { mode: 'reliable' } } });
    const peer = await connect();
    peer.send(pub(1, 'prices', { key: 'a' }));
    peer.send(pub(2, 'prices', { key: 'b' }));
    peer.send(pub(3, 'prices', { key: 'c' }));
    peer.send(pub(4, 'prices', { key: 'a' }));
    peer.send({ type: 'pub', topic: 'prices', data: 5, key: 'd' });
    await clock.idle();
    assert.deepEqual(outcomes(peer, [1, 2, 3, 4]), { 1: 'ok', 2: 'ok', 3: ErrorCode.TooManyKeys, 4: 'ok' });
    assert.deepEqual(
      peer.socket.ofType('error').map((e) => [e.code, e.topic, e.for]),
      [[ErrorCode.TooManyKeys, 'prices', 'pub']],
    );
    await assert.rejects(hub.publish('prices', 6, { key: 'e' }), (error) => isHoldfastError(error) && error.code === ErrorCode.TooManyKeys);
    assert.deepEqual(await hub.publish('prices', 7, { key: 'b' }), { offset: 4 }, 'refused publishes took no offset');
    const { messages } = await store.read('prices', 0, 100);
    assert.deepEqual(messages.map((m) => [m.key, m.data]), [['a', 4], ['b', 7]]);
  });

  it('defaults to 10,000 keys', () => {
    assert.equal(new TopicDirectory(undefined).resolve('any')?.maxKeys, 10_000);
    assert.equal(new TopicDirectory({ p: { mode: 'latest' } }).resolve('p')?.maxKeys, 10_000);
    assert.equal(new TopicDirectory(() => ({ mode: 'latest', maxKeys: 3 })).resolve('p')?.maxKeys, 3);
  });
});
