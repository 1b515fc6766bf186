import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CloseCode, ErrorCode } from '../../src/protocol/index.js';
import type { StoreEvent, StoreListener } from '../../src/server/index.js';
import { MemoryBackend, MemoryStore } from '../../src/store/memory/index.js';
import { ForwardingStore } from '../support/forwarding-store.js';
import { hubHarness } from '../support/hub-harness.js';
import { internals } from '../support/hub-internals.js';

/**
 * A store instance whose notifications can be lost, as a Redis pub/sub link drops them: while
 * `deaf` names an event kind, events of that kind never reach this instance's listeners. It can
 * also say it lost its backend and has it back (`health`), as a store that reconnected would.
 */
class LossyStore extends ForwardingStore {
  readonly deaf = new Set<StoreEvent['kind']>();
  private readonly listeners = new Set<StoreListener>();

  constructor(inner: MemoryStore) {
    super(inner);
    inner.listen((event) => {
      if (this.deaf.has(event.kind)) return;
      for (const listener of this.listeners) listener(event);
    });
  }

  /** Sends this instance's listeners a `health` event. */
  health(state: 'lost' | 'back'): void {
    for (const listener of this.listeners) listener({ kind: 'health', state });
  }

  override listen(listener: StoreListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** Two hubs on one backend; node A's store instance can lose notifications. */
function twoNodes(options: Parameters<typeof hubHarness>[0] = {}) {
  const backend = new MemoryBackend();
  const lossy = new LossyStore(new MemoryStore({ backend }));
  const a = hubHarness({ ...options, store: lossy });
  const b = hubHarness({ ...options, store: new MemoryStore({ backend }) });
  return { backend, lossy, a, b };
}

const messages = (frames: Array<{ type: string }>, topic: string): unknown[] =>
  frames.filter((f): f is { type: 'msg'; topic: string; data: unknown } => f.type === 'msg' && (f as { topic?: string }).topic === topic).map((f) => f.data);

describe('one core for many nodes', () => {
  it('a node that missed notifications reads the store when its store says it is back, and loses nothing', async () => {
    const { lossy, a, b } = twoNodes();
    const reader = await a.connect();
    reader.send({ type: 'sub', topic: 'feed', from: 'now' });
    await a.clock.idle();
    await b.hub.publish('feed', 1);
    await a.clock.idle();
    lossy.deaf.add('appended'); // the link to the backend drops notifications now
    lossy.health('lost');
    assert.equal(a.hub.storeAvailable, false);
    for (let i = 2; i <= 5; i++) await b.hub.publish('feed', i);
    await a.clock.idle();
    assert.deepEqual(messages(reader.socket.frames(), 'feed'), [1], 'nothing heard while deaf');
    lossy.deaf.clear();
    lossy.health('back');
    await a.clock.idle();
    assert.equal(a.hub.storeAvailable, true);
    assert.deepEqual(messages(reader.socket.frames(), 'feed'), [1, 2, 3, 4, 5], 'the store was read on its return');
  });

  it('a notification that skips offsets makes the node read the gap from the store, in order, once', async () => {
    const { lossy, a, b } = twoNodes();
    const reader = await a.connect();
    reader.send({ type: 'sub', topic: 'feed', from: 'now' });
    await a.clock.idle();
    lossy.deaf.add('appended');
    for (let i = 1; i <= 3; i++) await b.hub.publish('feed', i);
    lossy.deaf.clear();
    await b.hub.publish('feed', 4); // heard: offset 4 after 0 is a gap
    await a.clock.idle();
    assert.deepEqual(messages(reader.socket.frames(), 'feed'), [1, 2, 3, 4]);
  });

  it('a node that missed the takeover learns it from the refused lease renewal, and never overwrites the new holder', async () => {
    const ttl = 10_000;
    const { lossy, a, b } = twoNodes({ sessionTtl: ttl, heartbeat: { interval: 1e9, timeout: 1e9 } });
    lossy.deaf.add('session');
    const old = await a.connect();
    const welcome = old.socket.ofType('welcome')[0]!;
    const moved = await b.connect({ type: 'hello', v: 1, resume: { session: welcome.session, token: welcome.token } });
    assert.equal(moved.socket.ofType('welcome')[0]!.resumed, true);
    moved.send({ type: 'pub', topic: 'room', seq: 1, id: 'm1', data: 'on B' });
    await b.clock.idle();
    assert.equal(old.connection.state, 'open', 'node A did not hear of the takeover');
    // A renews its lease halfway through sessionTtl: the store refuses the write, and A lets go.
    a.clock.advance(ttl / 2 + 1000);
    await a.clock.idle();
    assert.equal(old.connection.state, 'closed');
    assert.equal(old.socket.ofType('error').at(-1)?.code, ErrorCode.SessionReplaced);
    assert.equal(old.socket.closedWith?.code, CloseCode.SessionReplaced);
    const record = await b.store.loadSession(welcome.session);
    assert.deepEqual([record?.version, record?.lastSeq], [2, 1], "node B's holding and its ledger are intact");
    assert.equal(internals(a.hub).sessions.get(welcome.session), undefined);
  });

  it('during a store outage nothing is acknowledged: a sub is refused, a pub closes the connection 4503, a hello too; resent after, stored once', async () => {
    const backend = new MemoryBackend();
    const { hub, clock, connect } = hubHarness({ store: new MemoryStore({ backend }), onError: () => undefined });
    const peer = await connect();
    const welcome = peer.socket.ofType('welcome')[0]!;
    backend.setAvailable(false);
    assert.equal(hub.storeAvailable, false);
    peer.send({ type: 'sub', topic: 'room', from: 'start' });
    await clock.idle();
    assert.equal(peer.socket.ofType('error').find((e) => e.for === 'sub')?.code, ErrorCode.StoreUnavailable);
    peer.send({ type: 'pub', topic: 'room', seq: 1, id: 'm1', data: 'kept by the client' });
    await clock.idle();
    assert.equal(peer.socket.closedWith?.code, CloseCode.Unavailable);
    assert.deepEqual(peer.socket.frames().filter((f) => f.type === 'ack' || f.type === 'reply'), [], 'neither acknowledged nor answered');
    const late = await connect({ type: 'hello', v: 1, resume: { session: welcome.session, token: welcome.token } });
    assert.equal(late.socket.ofType('error')[0]?.code, ErrorCode.StoreUnavailable);
    assert.equal(late.socket.closedWith?.code, CloseCode.Unavailable);
    backend.setAvailable(true);
    assert.equal(hub.storeAvailable, true);
    const back = await connect({ type: 'hello', v: 1, resume: { session: welcome.session, token: welcome.token } });
    assert.equal(back.socket.ofType('welcome')[0]?.resumed, true);
    back.send({ type: 'pub', topic: 'room', seq: 1, id: 'm1', data: 'kept by the client' });
    back.send({ type: 'sub', topic: 'room', from: 'start' });
    await clock.idle();
    assert.deepEqual(messages(back.socket.frames(), 'room'), ['kept by the client'], 'stored once, after the outage');
    assert.equal(back.socket.ofType('ack').at(-1)?.seq, 1);
  });

  it('when the store fails a batch, the frames of that session after it are not stored ahead of it: all are sent again, in order', async () => {
    const calls: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
    let gated = true;
    class GatedAppends extends ForwardingStore {
      override append: ForwardingStore['append'] = (entries) => {
        if (!gated) return this.target.append(entries);
        return new Promise((resolve, reject) => calls.push({ resolve: () => void this.target.append(entries).then(resolve, reject), reject }));
      };
    }
    const inner = new MemoryStore();
    const { clock, connect } = hubHarness({ store: new GatedAppends(inner), onError: () => undefined });
    const peer = await connect();
    const welcome = peer.socket.ofType('welcome')[0]!;
    peer.send({ type: 'pub', topic: 'room', seq: 1, id: 'm1', data: 1 });
    await clock.idle();
    assert.equal(calls.length, 1, 'the first batch is at the store');
    peer.send({ type: 'pub', topic: 'room', seq: 2, id: 'm2', data: 2 });
    peer.send({ type: 'pub', topic: 'room', seq: 3, id: 'm3', data: 3 });
    await clock.idle();
    assert.equal(calls.length, 1, 'one batch at the store at a time');
    calls[0]!.reject(new Error('connection to the store lost'));
    await clock.idle();
    assert.equal(calls.length, 1, 'the frames after the failed one were not sent to the store');
    assert.equal(peer.socket.closedWith?.code, CloseCode.Unavailable);
    assert.deepEqual((await inner.read('room', 0, 10)).messages, []);
    gated = false;
    const back = await connect({ type: 'hello', v: 1, resume: { session: welcome.session, token: welcome.token } });
    for (const seq of [1, 2, 3]) back.send({ type: 'pub', topic: 'room', seq, id: `m${seq}`, data: seq });
    await clock.idle();
    assert.equal(back.socket.ofType('ack').at(-1)?.seq, 3);
    assert.deepEqual((await inner.read('room', 0, 10)).messages.map((m) => m.data), [1, 2, 3], 'stored once each, in the order sent');
  });

  it("a request's outcome is on record by id before its reply goes out, so a node dying after the reply cannot leave it unknown", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    class SlowRecords extends ForwardingStore {
      override completeRequest: ForwardingStore['completeRequest'] = async (key, outcome, now, ttl) => {
        await gate;
        return this.target.completeRequest(key, outcome, now, ttl);
      };
    }
    const store = new SlowRecords(new MemoryStore());
    const { clock, connect } = hubHarness({ store, handlers: { charge: () => 'charged' } });
    const peer = await connect();
    peer.send({ type: 'req', seq: 1, id: 'charge-1', method: 'charge', data: null });
    await clock.idle();
    assert.deepEqual(peer.socket.ofType('reply'), [], 'no reply while the outcome is not on record');
    release();
    await clock.idle();
    assert.deepEqual(peer.socket.ofType('reply'), [{ type: 'reply', seq: 1, ok: true, data: 'charged' }]);
    assert.deepEqual(await store.claimRequest('\u0000charge-1', clock.now(), 1000, 60_000), { state: 'done', outcome: { ok: true, data: 'charged' } });
  });
});
