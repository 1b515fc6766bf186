import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CloseCode, ErrorCode } from '../../src/protocol/index.js';
import { MemoryStore } from '../../src/server/index.js';
import type { SessionUpdate } from '../../src/store/types.js';
import { hubHarness } from '../support/hub-harness.js';

/**
 * Input the server has taken in but not finished with is bounded in bytes (issue 10; found in
 * review): requests whose handler still runs, and publishes queued behind an asynchronous check,
 * each hold their frame. Deterministic: fake sockets on fake time.
 */
const limits = { maxPayload: 100_000 }; // held input bound: maxPayload + 256 KiB = 362,144 bytes
const big = 'x'.repeat(95_000);

describe('input in progress', () => {
  // 150 requests of 1 MB to a slow handler grew the heap by 178 MB in 3 s, reading never paused.
  it('stops reading while requests in progress hold more than the bound, and reads on as they finish', async () => {
    const waiting: Array<() => void> = [];
    const { clock, connect } = hubHarness({ limits, handlers: { slow: () => new Promise<string>((resolve) => waiting.push(() => resolve('ok'))) } });
    const peer = await connect();
    for (let seq = 1; seq <= 3; seq++) peer.send({ type: 'req', seq, id: `r${seq}`, method: 'slow', data: big });
    await clock.idle();
    assert.equal(peer.socket.paused, false, '285 KB in progress');
    peer.send({ type: 'req', seq: 4, id: 'r4', method: 'slow', data: big });
    await clock.idle();
    assert.equal(peer.socket.paused, true, '380 KB in progress: past the bound');
    for (const finish of waiting.splice(0)) finish();
    await clock.idle();
    assert.equal(peer.socket.paused, false, 'done with: reading resumes');
    assert.equal(peer.connection.session!.inflightBytes, 0);
  });

  it('stops reading while publishes wait behind an asynchronous check, and reads on as they go', async () => {
    let allow!: () => void;
    const { clock, connect } = hubHarness({
      limits,
      cacheAuthorization: false,
      authorize: ({ topic }) => (topic === 'slow' ? new Promise<boolean>((resolve) => (allow = () => resolve(true))) : true),
    });
    const peer = await connect();
    peer.send({ type: 'pub', topic: 'slow', data: 1 });
    for (let i = 0; i < 4; i++) peer.send({ type: 'pub', topic: 'fast', data: big });
    await clock.idle();
    assert.equal(peer.socket.paused, true, 'four 95 KB publishes queued behind the check');
    allow();
    await clock.idle();
    assert.equal(peer.socket.paused, false);
    assert.equal(peer.connection.session!.inflightBytes, 0);
  });

  it('answers a publish whose topic table throws with INTERNAL instead of leaving its seq pending', async () => {
    const bug = new Error('topic table bug');
    const errors: unknown[] = [];
    const { clock, connect } = hubHarness({
      topics: (topic) => {
        if (topic === 'boom') throw bug;
        return { mode: 'reliable' };
      },
      onError: (error) => errors.push(error),
    });
    const peer = await connect();
    peer.send({ type: 'pub', topic: 'boom', data: 1, seq: 1, id: 'p1' });
    peer.send({ type: 'pub', topic: 'fine', data: 2, seq: 2, id: 'p2' });
    await clock.idle();
    assert.equal(peer.socket.ofType('reply').find((r) => r.seq === 1)?.ok, false);
    assert.ok(peer.socket.ofType('ack').some((a) => a.seq === 2), 'the acks go on past it');
    assert.deepEqual(errors, [bug]);
  });
});

describe('kept-reply backlog', () => {
  it('closes with 4413 a client that sends more than the backlog holds while at its kept-reply limit, dropping nothing silently', async () => {
    const { clock, connect } = hubHarness({ limits: { maxKeptReplies: 1, maxPayload: 1000 }, authorize: () => false });
    const peer = await connect();
    peer.send({ type: 'pub', topic: 't', data: 1, seq: 1, id: 'p1' }); // refused: its reply is kept, the limit reached
    await clock.idle();
    const frame = JSON.stringify({ type: 'pub', topic: 't', data: 'x'.repeat(900) });
    for (let i = 0; i < 400 && peer.socket.closedWith === undefined; i++) peer.send(frame);
    assert.equal(peer.socket.closedWith?.code, CloseCode.SlowConsumer);
    assert.equal(peer.socket.ofType('error').at(-1)?.code, ErrorCode.SlowConsumer);
  });
});

describe('acks that change nothing', () => {
  // An ack that moved no cursor and confirmed no reply still rewrote the session (each save writes
  // the whole state, which may hold thousands of seqs): one 14-byte frame, one write.
  it('save the session only when a cursor moved or a reply was confirmed', async () => {
    class CountingStore extends MemoryStore {
      saves = 0;
      override saveSessions(updates: SessionUpdate[]): Promise<boolean[]> {
        this.saves += updates.length;
        return super.saveSessions(updates);
      }
    }
    const store = new CountingStore();
    const { clock, connect, hub } = hubHarness({ store });
    const peer = await connect();
    peer.send({ type: 'sub', topic: 't', from: 'now' });
    await clock.idle();
    await hub.publish('t', 1);
    await clock.idle();
    peer.send({ type: 'ack', offsets: { t: 1 } });
    await clock.idle();
    const before = store.saves;
    for (let i = 0; i < 20; i++) {
      peer.send({ type: 'ack', offsets: { t: 1 } });
      peer.send({ type: 'ack' });
      await clock.idle();
    }
    assert.equal(store.saves, before);
  });
});
