import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CloseCode, ErrorCode, HoldfastError } from '../../src/protocol/index.js';
import { MemoryStore, type Store, type StoreListener } from '../../src/server/index.js';
import { hubHarness } from '../support/hub-harness.js';
import { internals } from '../support/hub-internals.js';
import { ForwardingStore } from '../support/forwarding-store.js';

const deep = (levels: number): unknown => {
  let value: unknown = 'bottom';
  for (let i = 0; i < levels; i++) value = [value];
  return value;
};

/** One regression test per defect found in review: each failed before its fix. */
describe('server robustness', () => {
  it('refuses data nested too deeply with INVALID_PAYLOAD, and the topic keeps flowing', async () => {
    const { clock, connect } = hubHarness({ handlers: { echo: (data) => data } });
    const victim = await connect();
    victim.send({ type: 'sub', topic: 'chat', from: 'now' });
    const attacker = await connect();
    await clock.idle();
    // Deep enough that JSON.stringify throws, shallow enough to be a small frame.
    attacker.send(`{"type":"pub","topic":"chat","seq":1,"id":"deep","data":${'['.repeat(5000)}${']'.repeat(5000)}}`);
    attacker.send(`{"type":"req","seq":2,"id":"deeper","method":"echo","data":${'['.repeat(200_000)}${']'.repeat(200_000)}}`);
    attacker.send({ type: 'pub', topic: 'chat', seq: 3, id: 'fine', data: 'after' });
    await clock.idle();
    const replies = attacker.socket.ofType('reply');
    assert.deepEqual(replies.map((r) => [r.seq, !r.ok && r.error.code]), [[1, ErrorCode.InvalidPayload], [2, ErrorCode.InvalidPayload]]);
    assert.deepEqual(victim.socket.ofType('msg').map((m) => m.data), ['after']);
  });

  it('turns a handler reply JSON cannot carry into HANDLER_ERROR, also when kept for a disconnected client', async () => {
    const errors: unknown[] = [];
    let finish!: () => void;
    const { clock, hub, connect } = hubHarness({
      handlers: { big: () => new Promise((resolve) => (finish = () => resolve({ n: 1n }))) },
      onError: (e) => errors.push(e),
    });
    const peer = await connect();
    const welcome = peer.socket.ofType('welcome')[0]!;
    peer.send({ type: 'req', seq: 1, id: 'r', method: 'big', data: null });
    await clock.idle();
    hub.closed(peer.connection); // the reply has nowhere to go: it is kept
    finish();
    await clock.idle();
    const back = await connect({ type: 'hello', v: 1, resume: { session: welcome.session, token: welcome.token } });
    back.send({ type: 'req', seq: 1, id: 'r', method: 'big', data: null });
    await clock.idle();
    const reply = back.socket.ofType('reply')[0]!;
    assert.equal(!reply.ok && reply.error.code, ErrorCode.HandlerError);
    assert.equal(errors.length, 1, 'the application hears about its handler once');
  });

  it('retries a reposition whose snapshot hook failed, instead of leaving the subscription stuck', async () => {
    let failures = 1;
    const errors: unknown[] = [];
    const { clock, hub, connect } = hubHarness({
      onError: (e) => errors.push(e),
      limits: { maxInFlight: 2 },
      topics: {
        room: {
          mode: 'reliable',
          retention: { maxCount: 5 },
          snapshot: () => {
            if (failures-- > 0) throw new Error('snapshot source down');
            return 'state';
          },
        },
      },
    });
    const peer = await connect();
    peer.send({ type: 'sub', topic: 'room', from: 'now' });
    await clock.idle();
    for (let i = 1; i <= 20; i++) await hub.publish('room', i);
    hub.sweep(); // trims to the newest 5 while the subscriber is blocked at 2
    await clock.idle();
    peer.send({ type: 'ack', offsets: { room: 2 } });
    await clock.idle();
    assert.equal(errors.length, 1, 'the first snapshot attempt failed');
    hub.sweep();
    await clock.idle();
    const resubscribed = peer.socket.ofType('subscribed').at(-1)!;
    assert.deepEqual([resubscribed.recovered, resubscribed.snapshot, resubscribed.offset], [false, 'state', 20]);
    await hub.publish('room', 21);
    await clock.idle();
    assert.equal(peer.socket.ofType('msg').at(-1)!.data, 21, 'live again');
  });

  it('follows a store whose epoch changes: recovered false, every retained message, no hang', async () => {
    const store = new SwitchableStore(new MemoryStore({ epoch: 'old' }));
    const { clock, hub, connect } = hubHarness({ store });
    const peer = await connect();
    peer.send({ type: 'sub', topic: 't', from: 'now' });
    await clock.idle();
    for (let i = 0; i < 100; i++) await hub.publish('t', `old ${i}`);
    await clock.idle();
    const replacement = new MemoryStore({ epoch: 'new' });
    await replacement.append([1, 2, 3, 4, 5].map((i) => ({ topic: 't', data: `new ${i}`, time: 0 })));
    store.switchTo(replacement);
    await hub.publish('t', 'new 6');
    await clock.idle();
    const last = peer.socket.ofType('subscribed').at(-1)!;
    assert.deepEqual([last.epoch, last.offset, last.recovered], ['new', 0, false]);
    const after = peer.socket.ofType('msg').filter((m) => String(m.data).startsWith('new'));
    assert.deepEqual(after.map((m) => m.data), ['new 1', 'new 2', 'new 3', 'new 4', 'new 5', 'new 6']);
  });

  it('does not resume an expired session from the store, and a wrong token leaves nothing behind', async () => {
    const store = new MemoryStore();
    const a = hubHarness({ store, sessionTtl: 1000 });
    const b = hubHarness({ store });
    const peer = await a.connect();
    const welcome = peer.socket.ofType('welcome')[0]!;
    a.hub.closed(peer.connection);
    await a.clock.idle();
    b.clock.advance(2000); // node B's clock is past the expiry node A stored
    const late = await b.connect({ type: 'hello', v: 1, resume: { session: welcome.session, token: welcome.token } });
    assert.equal(late.socket.ofType('welcome')[0]!.resumed, false);
    const guess = await b.connect({ type: 'hello', v: 1, resume: { session: welcome.session, token: 'wrong' } });
    assert.equal(guess.socket.ofType('welcome')[0]!.resumed, false);
    assert.equal(internals(b.hub).sessions.get(welcome.session) !== undefined, false);
  });

  it('holds frames at maxKeptReplies instead of forgetting replies, and handles them after confirmations', async () => {
    const { clock, connect } = hubHarness({ limits: { maxKeptReplies: 2 }, authorize: () => false });
    const peer = await connect();
    const replies = (seq: number) => peer.socket.ofType('reply').filter((r) => r.seq === seq).length;
    for (let seq = 1; seq <= 2; seq++) peer.send({ type: 'pub', topic: 't', data: seq, seq, id: `p${seq}` });
    await clock.idle();
    peer.send({ type: 'pub', topic: 't', data: 3, seq: 3, id: 'p3' });
    await clock.idle();
    assert.equal(replies(3), 0, 'a third rejection would pass the limit: it waits');
    assert.equal(peer.socket.paused, false, 'reading on: the confirmations come on this socket');
    peer.send({ type: 'ack', replies: [2] });
    await clock.idle();
    assert.equal(replies(3), 1);
    assert.equal(peer.connection.session!.acks.ledger.replies.size, 2, 'replies 1 and 3 kept, none forgotten');
  });

  it('keeps the session cursor when an ack arrives while a sub is being re-checked', async () => {
    let release!: () => void;
    let slow = false;
    const { clock, hub, connect } = hubHarness({ authorize: () => (slow ? new Promise((resolve) => (release = () => resolve(true))) : true) , cacheAuthorization: false });
    const peer = await connect();
    peer.send({ type: 'sub', topic: 't', from: 'now' });
    await clock.idle();
    for (let i = 0; i < 3; i++) await hub.publish('t', i);
    await clock.idle();
    peer.send({ type: 'ack', offsets: { t: 3 } });
    const session = peer.connection.session!;
    const epoch = session.cursors!.get('t')!.epoch;
    slow = true;
    peer.send({ type: 'sub', topic: 't', epoch, offset: 3 });
    peer.send({ type: 'ack', offsets: { t: 3 } }); // arrives while the sub waits for authorize
    assert.deepEqual(session.cursors?.get('t'), { epoch, offset: 3 });
    release();
    await clock.idle();
  });

  it('answers an unknown frame type sent while hello is authenticated with an error, and stays open', async () => {
    let admit!: () => void;
    const { clock, connect } = hubHarness({ authenticate: () => new Promise((resolve) => (admit = () => resolve('ann'))) });
    const peer = await connect();
    peer.send({ type: 'frobnicate' });
    admit();
    await clock.idle();
    assert.equal(peer.socket.ofType('error')[0]!.code, ErrorCode.UnknownFrameType);
    assert.equal(peer.socket.closedWith, undefined);
    assert.equal(peer.socket.ofType('welcome').length, 1);
  });

  it('gives a request resent into a new session the first run its reply, running the handler once', async () => {
    let runs = 0;
    const { clock, connect } = hubHarness({ handlers: { once: () => ++runs } });
    const first = await connect();
    first.send({ type: 'req', seq: 1, id: 'same-id', method: 'once', data: null });
    await clock.idle();
    const second = await connect(); // the token was lost with the welcome: a new session
    second.send({ type: 'req', seq: 1, id: 'same-id', method: 'once', data: null });
    await clock.idle();
    assert.deepEqual(second.socket.ofType('reply')[0], { type: 'reply', seq: 1, ok: true, data: 1 });
    assert.equal(runs, 1);
  });

  it('closes with 4400 a client whose seq runs far ahead of what it was acknowledged', async () => {
    const { connect } = hubHarness({ limits: { maxSeqAhead: 100 } });
    const peer = await connect();
    peer.send({ type: 'pub', topic: 't', data: 1, seq: 101, id: 'far' });
    assert.equal(peer.socket.closedWith?.code, CloseCode.ProtocolViolation);
    assert.equal(peer.socket.ofType('error')[0]!.code, ErrorCode.InvalidFrame);
  });

  it('sends no reply or ack before the session record that records it is saved', async () => {
    const store = new MemoryStore();
    let failSaves = false;
    const save = store.saveSessions.bind(store);
    store.saveSessions = (records) => (failSaves ? Promise.reject(new Error('disk hiccup')) : save(records));
    const { clock, hub, connect } = hubHarness({ store, handlers: { one: () => 1 }, onError: () => undefined });
    const peer = await connect();
    failSaves = true;
    peer.send({ type: 'pub', topic: 't', data: 'x', seq: 1, id: 'a' });
    peer.send({ type: 'req', seq: 2, id: 'b', method: 'one', data: null });
    await clock.idle();
    assert.equal((await store.info('t')).head, 1, 'the message itself is stored');
    assert.deepEqual([peer.socket.ofType('ack').length, peer.socket.ofType('reply').length], [0, 0], 'but not acknowledged yet');
    failSaves = false;
    hub.sweep(); // retries the failed save
    await clock.idle();
    assert.deepEqual(peer.socket.ofType('reply').map((r) => r.seq), [2]);
    assert.equal(peer.socket.ofType('ack').at(-1)!.seq, 2);
    assert.equal((await store.loadSession(peer.connection.session!.id))!.lastSeq, 2);
  });

  it('rejects server-side publishes JSON cannot carry', async () => {
    const { hub } = hubHarness();
    await assert.rejects(hub.publish('t', { n: 1n }), (e: HoldfastError) => e.code === ErrorCode.InvalidPayload);
    await assert.rejects(hub.publish('t', deep(100)), (e: HoldfastError) => e.code === ErrorCode.InvalidPayload);
  });
});

/** A store that can be replaced underneath the hub, as a failover to an empty replica would. */
class SwitchableStore extends ForwardingStore {
  private readonly listeners = new Set<StoreListener>();
  private unlisten: () => void;
  // A replacement store is told the topics the old one watched, as a store reconnecting would.
  private readonly watched = new Set<string>();

  constructor(current: MemoryStore) {
    super(current);
    this.unlisten = current.listen((event) => this.listeners.forEach((listener) => listener(event)));
  }

  switchTo(next: MemoryStore): void {
    this.unlisten();
    this.target = next;
    this.unlisten = next.listen((event) => this.listeners.forEach((listener) => listener(event)));
    for (const topic of this.watched) void next.watch(topic);
  }

  override listen(listener: StoreListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  override watch: Store['watch'] = (topic) => (this.watched.add(topic), this.target.watch(topic));
  override unwatch: Store['unwatch'] = (topic) => (this.watched.delete(topic), this.target.unwatch(topic));
}
