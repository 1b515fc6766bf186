import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { CloseCode, ErrorCode, systemClock } from '../../src/protocol/index.js';
import { REQUEST_LEASE_MS } from '../../src/server/request-runs.js';
import { MemoryBackend, MemoryStore } from '../../src/store/memory/index.js';
import { FailingStore } from '../support/failing-store.js';
import { RawPeer } from '../support/raw-peer.js';
import { startServer, type TestServer } from '../support/servers.js';
import { waitFor } from '../support/wait.js';

/**
 * The error codes of PROTOCOL.md that no other test made a real server send, each provoked over a
 * real socket the way a client would meet it.
 */
describe('error codes on the wire', () => {
  let t: TestServer | undefined;
  const peers: RawPeer[] = [];
  const greet = async (url: string, hello: object = {}) => {
    const peer = await RawPeer.greeted(url, hello);
    peers.push(peer);
    return peer;
  };
  afterEach(async () => {
    for (const peer of peers.splice(0)) peer.close();
    await t?.close();
    t = undefined;
  });

  it('DUPLICATE_REQUEST: a req whose id was processed and whose reply was confirmed, resent from a new session', async () => {
    let runs = 0;
    t = await startServer({ handlers: { charge: () => ++runs } });
    const first = await greet(t.url);
    first.send({ type: 'req', seq: 1, id: 'charge-1', method: 'charge', data: null });
    assert.deepEqual(await first.next('reply'), { type: 'reply', seq: 1, ok: true, data: 1 });
    await first.next('ack', (a) => a.seq === 1);
    // Confirmed: the server forgets the reply; only the id's claim in the store remembers the request.
    first.send({ type: 'ack', replies: [1] });
    first.send({ type: 'ping' });
    await first.next('pong'); // the ack above was handled
    first.close();
    const second = await greet(t.url); // no resume: a new session, numbering from 1 again
    second.send({ type: 'req', seq: 1, id: 'charge-1', method: 'charge', data: null });
    const reply = await second.next('reply');
    assert.equal(!reply.ok && reply.error.code, ErrorCode.DuplicateRequest);
    assert.equal(runs, 1, 'the handler did not run again');
    await second.next('ack', (a) => a.seq === 1);
  });

  it('STORE_UNAVAILABLE: a reliable pub the store fails closes the connection 4503, unacknowledged; sent again after the resume, it is stored once', async () => {
    const store = new FailingStore();
    t = await startServer({ store, expectErrors: store.threw });
    const { peer, welcome } = await RawPeer.handshake(t.url);
    peers.push(peer);
    store.failing.add('append');
    peer.send({ type: 'pub', topic: 'orders', data: 'first try', seq: 1, id: 'o1' });
    const error = await peer.next('error');
    assert.deepEqual([error.code, error.retryAfter], [ErrorCode.StoreUnavailable, 1000]);
    await waitFor(() => peer.closed !== undefined, 'the close');
    assert.equal(peer.closed!.code, CloseCode.Unavailable);
    assert.deepEqual(peer.frames.filter((f) => f.type === 'ack' || f.type === 'reply'), [], 'neither acknowledged nor answered');
    store.failing.clear();
    // The client resumes and sends what was not acknowledged again, with its seq and id.
    const again = await greet(t.url, { resume: { session: welcome.session, token: welcome.token } });
    again.send({ type: 'pub', topic: 'orders', data: 'first try', seq: 1, id: 'o1' });
    await again.next('ack', (a) => a.seq === 1);
    const stored = await store.inner.read('orders', 0, 10);
    assert.deepEqual(stored.messages.map((m) => m.data), ['first try']);
    assert.ok(t.errors.length > 0 && t.errors.every(store.threw), 'the operator hears about the store failure');
  });

  it('STORE_UNAVAILABLE: a fire-and-forget pub gets an error for the pub, and the connection stays open', async () => {
    const store = new FailingStore();
    t = await startServer({ store, expectErrors: store.threw });
    const peer = await greet(t.url);
    store.failing.add('append');
    peer.send({ type: 'pub', topic: 'orders', data: 'lost' });
    const error = await peer.next('error');
    assert.deepEqual([error.code, error.topic, error.for], [ErrorCode.StoreUnavailable, 'orders', 'pub']);
    store.failing.clear();
    peer.send({ type: 'ping' });
    await peer.next('pong');
    assert.equal(peer.closed, undefined);
  });

  it('STORE_UNAVAILABLE: a sub gets an error for the sub, and subscribing again works once the store is back', async () => {
    const store = new FailingStore();
    t = await startServer({ store, expectErrors: store.threw });
    const peer = await greet(t.url);
    store.failing.add('info');
    peer.send({ type: 'sub', topic: 'orders' });
    const error = await peer.next('error');
    assert.deepEqual([error.code, error.topic, error.for], [ErrorCode.StoreUnavailable, 'orders', 'sub']);
    store.failing.clear();
    peer.send({ type: 'sub', topic: 'orders' });
    assert.equal((await peer.next('subscribed')).topic, 'orders');
  });

  it('STORE_UNAVAILABLE: a req whose id cannot be claimed closes the connection 4503 before its handler runs; sent again, it runs once', async () => {
    const store = new FailingStore();
    let runs = 0;
    t = await startServer({ store, expectErrors: store.threw, handlers: { charge: () => ++runs } });
    const { peer, welcome } = await RawPeer.handshake(t.url);
    peers.push(peer);
    store.failing.add('claimRequest');
    peer.send({ type: 'req', seq: 1, id: 'charge-1', method: 'charge', data: null });
    assert.equal((await peer.next('error')).code, ErrorCode.StoreUnavailable);
    await waitFor(() => peer.closed !== undefined, 'the close');
    assert.equal(peer.closed!.code, CloseCode.Unavailable);
    assert.equal(runs, 0);
    store.failing.clear();
    const again = await greet(t.url, { resume: { session: welcome.session, token: welcome.token } });
    again.send({ type: 'req', seq: 1, id: 'charge-1', method: 'charge', data: null });
    assert.deepEqual(await again.next('reply'), { type: 'reply', seq: 1, ok: true, data: 1 });
    assert.equal(runs, 1);
  });

  it('OUTCOME_UNKNOWN: a req resent to another node after the node running it stopped mid-run', async () => {
    const backend = new MemoryBackend();
    let runs = 0;
    // Node A starts the request and never finishes it, then stops (its lease is no longer renewed).
    const a = await startServer({ store: new MemoryStore({ backend }), handlers: { charge: () => (++runs, new Promise(() => undefined)) } });
    // Node B's clock is past A's lease on the run (REQUEST_LEASE_MS): as if it had waited that long.
    const later = { ...systemClock, now: () => Date.now() + REQUEST_LEASE_MS + 1000 };
    t = await startServer({ store: new MemoryStore({ backend }), clock: later, handlers: { charge: () => ++runs } });
    try {
      const first = await greet(a.url);
      first.send({ type: 'req', seq: 1, id: 'charge-1', method: 'charge', data: null });
      await waitFor(() => runs === 1, 'the handler to start on node A');
      first.close();
      const second = await greet(t.url);
      second.send({ type: 'req', seq: 1, id: 'charge-1', method: 'charge', data: null });
      const reply = await second.next('reply');
      assert.equal(!reply.ok && reply.error.code, ErrorCode.OutcomeUnknown);
      assert.equal(runs, 1, 'the handler did not run again');
    } finally {
      await a.close();
    }
  });

  it('HELLO_TIMEOUT: a connection that sends no hello in time gets the error, then close 4408', async () => {
    t = await startServer({ helloTimeout: 200, sweepInterval: 50 });
    const peer = await RawPeer.connect(t.url);
    peers.push(peer);
    assert.equal((await peer.next('error')).code, ErrorCode.HelloTimeout);
    assert.equal((await peer.closedWith()).code, CloseCode.HelloTimeout);
  });

  it('SESSION_REPLACED: a connection whose session another connection resumed gets the error, then close 4409', async () => {
    t = await startServer();
    const { peer: first, welcome } = await RawPeer.handshake(t.url);
    peers.push(first);
    await greet(t.url).then((p) => p.close()); // an unrelated connection changes nothing
    const second = await RawPeer.handshake(t.url, { resume: { session: welcome.session, token: welcome.token } });
    peers.push(second.peer);
    assert.equal(second.welcome.resumed, true);
    assert.equal((await first.next('error')).code, ErrorCode.SessionReplaced);
    assert.equal((await first.closedWith()).code, CloseCode.SessionReplaced);
  });

  it('SERVER_SHUTDOWN: a closing server tells every connection, with a retry hint, then closes with 1001', async () => {
    const closing = await startServer();
    const peer = await greet(closing.url);
    await closing.close();
    const error = await peer.next('error');
    assert.equal(error.code, ErrorCode.ServerShutdown);
    assert.ok((error.retryAfter ?? 0) > 0);
    assert.equal((await peer.closedWith()).code, CloseCode.GoingAway);
  });

  it('STORE_UNAVAILABLE: a store failure while looking up a session to resume closes with 4503 and a retry hint', async () => {
    const store = new FailingStore();
    t = await startServer({ store, expectErrors: store.threw });
    store.failing.add('loadSession');
    const peer = await RawPeer.connect(t.url);
    peers.push(peer);
    // A session this server does not hold in memory is looked up in the store (another node's, say).
    peer.send({ type: 'hello', v: 1, resume: { session: 'from-another-node', token: 'token' } });
    const error = await peer.next('error');
    assert.equal(error.code, ErrorCode.StoreUnavailable);
    assert.ok((error.retryAfter ?? 0) > 0);
    assert.equal((await peer.closedWith()).code, CloseCode.Unavailable);
    store.failing.clear();
    const again = await RawPeer.handshake(t.url, { resume: { session: 'from-another-node', token: 'token' } });
    peers.push(again.peer);
    assert.equal(again.welcome.resumed, false, 'the next try gets a new session');
  });

  it('INTERNAL: an application topic function that throws closes with 4500 and a retry hint; others go on', async () => {
    const bug = new Error('topic table bug');
    t = await startServer({
      topics: (topic) => {
        if (topic === 'boom') throw bug;
        return { mode: 'reliable' };
      },
      expectErrors: (error) => error === bug,
    });
    const peer = await RawPeer.greeted(t.url);
    peers.push(peer);
    peer.send({ type: 'sub', topic: 'boom' });
    const error = await peer.next('error');
    assert.equal(error.code, ErrorCode.Internal);
    assert.ok((error.retryAfter ?? 0) > 0);
    assert.equal((await peer.closedWith()).code, CloseCode.InternalError);
    const other = await RawPeer.greeted(t.url);
    peers.push(other);
    other.send({ type: 'sub', topic: 'fine' });
    await other.next('subscribed');
  });
});
