import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { HoldfastClient } from '../../src/client/index.js';
import { CloseCode, ErrorCode } from '../../src/protocol/index.js';
import type { ServerOptions } from '../../src/server/index.js';
import { MemoryBackend, MemoryStore } from '../../src/store/memory/index.js';
import type { Store } from '../../src/server/index.js';
import { ForwardingStore } from '../support/forwarding-store.js';
import { internals } from '../support/hub-internals.js';
import { RawPeer } from '../support/raw-peer.js';
import { startServer, type TestServer } from '../support/servers.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { sleep, waitFor } from '../support/wait.js';

/**
 * Two nodes, one store: two servers on one MemoryBackend, each with a store instance of its own,
 * as two processes on one Redis would be. A session belongs to whichever node the client reached
 * last; the other learns it through the store and lets go.
 */
describe('two nodes on one store', () => {
  const cleanup: Array<() => unknown> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  async function nodes(options: ServerOptions = {}): Promise<[TestServer, TestServer]> {
    const backend = new MemoryBackend();
    const a = await startServer({ ...options, store: new MemoryStore({ backend }) });
    cleanup.push(() => a.close());
    const b = await startServer({ ...options, store: new MemoryStore({ backend }) });
    cleanup.push(() => b.close());
    return [a, b];
  }

  async function peer(url: string, hello: object = {}): Promise<{ peer: RawPeer; welcome: Awaited<ReturnType<typeof RawPeer.handshake>>['welcome'] }> {
    const result = await RawPeer.handshake(url, hello);
    cleanup.push(() => result.peer.close());
    return result;
  }

  it('a resume on node B closes the connection node A still has with SESSION_REPLACED, and A writes no more', async () => {
    const [a, b] = await nodes();
    const first = await peer(a.url);
    first.peer.send({ type: 'sub', topic: 'room', from: 'start' });
    await first.peer.next('subscribed');
    // The link to A is half-open as far as the client knows: it resumes through B.
    const second = await peer(b.url, { resume: { session: first.welcome.session, token: first.welcome.token } });
    assert.equal(second.welcome.resumed, true);
    const error = await first.peer.next('error');
    assert.equal(error.code, ErrorCode.SessionReplaced);
    await waitFor(() => first.peer.closed !== undefined, 'node A to close its connection');
    assert.equal(first.peer.closed!.code, CloseCode.SessionReplaced);
    assert.equal(internals(a.server.hub).sessions.get(first.welcome.session), undefined, 'node A let go of the session');
    // B holds it: its token works on B, and the store has B's holding.
    second.peer.send({ type: 'pub', topic: 'room', seq: 1, id: 'm1', data: 'hello' });
    assert.deepEqual(await second.peer.next('ack', (ack) => ack.seq === 1), { type: 'ack', seq: 1 });
    const record = await b.server.hub.store.loadSession(first.welcome.session);
    assert.equal(record?.version, 2);
    assert.equal(record?.lastSeq, 1);
  });

  it('a resume whose connection closed while the store answered takes nothing over: the client\'s newer connection keeps its session', async () => {
    // Found by `npm run chaos -- --seed 31337 --minutes 5`: a client gave up a connection attempt
    // (its hello held up on the way, then sent) and resumed through another node with the same
    // token; the abandoned attempt's resume, finishing later, took the session over and closed the
    // client's live connection with 4409, a final close: the client never came back.
    const backend = new MemoryBackend();
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    let loads = 0;
    class SlowLoads extends ForwardingStore {
      override loadSession: Store['loadSession'] = async (id) => {
        loads++;
        await gate;
        return this.target.loadSession(id);
      };
    }
    const a = await startServer({ store: new SlowLoads(new MemoryStore({ backend })) });
    cleanup.push(() => a.close());
    const b = await startServer({ store: new MemoryStore({ backend }) });
    cleanup.push(() => b.close());

    const first = await peer(b.url);
    first.peer.close();
    const resume = { session: first.welcome.session, token: first.welcome.token };
    const abandoned = await RawPeer.connect(a.url);
    abandoned.send({ type: 'hello', v: 1, resume });
    await waitFor(() => loads === 1, 'node A to look the session up');
    abandoned.close(); // the client gave up on this attempt
    await waitFor(() => internals(a.server.hub).connections.size === 0, 'node A to see the close');
    const live = await peer(b.url, { resume });
    assert.equal(live.welcome.resumed, true);
    openGate();
    await sleep(100);
    assert.equal(live.peer.closed, undefined, 'the live connection is not replaced by the abandoned attempt');
    live.peer.send({ type: 'pub', topic: 'room', seq: 1, id: 'm1', data: 'still here' });
    assert.deepEqual(await live.peer.next('ack', (ack) => ack.seq === 1), { type: 'ack', seq: 1 });
    assert.equal((await b.server.hub.store.loadSession(resume.session))?.version, 2, 'one takeover: the live one');
  });

  it('the newest token works on either node after a move, and the one before it still does until used', async () => {
    const [a, b] = await nodes();
    const first = await peer(a.url);
    first.peer.close();
    const second = await peer(b.url, { resume: { session: first.welcome.session, token: first.welcome.token } });
    assert.equal(second.welcome.resumed, true);
    second.peer.close();
    await waitFor(() => internals(b.server.hub).connections.size === 0, 'node B to see the close');
    // Back on A with B's token: A's copy of the session is stale, and the store's record wins.
    const third = await peer(a.url, { resume: { session: first.welcome.session, token: second.welcome.token } });
    assert.equal(third.welcome.resumed, true);
    assert.equal(third.welcome.session, first.welcome.session);
  });

  it('a request resent to node B while node A still runs it is answered with A\'s outcome, and runs once', async () => {
    let runs = 0;
    let finish!: (value: string) => void;
    const gate = new Promise<string>((resolve) => (finish = resolve));
    const [a, b] = await nodes({ handlers: { charge: () => (++runs, gate) } });
    const first = await peer(a.url);
    first.peer.send({ type: 'req', seq: 1, id: 'charge-1', method: 'charge', data: null });
    await waitFor(() => runs === 1, 'the handler to start on node A');
    // The client gave up on A's link, resumes through B and sends the request again.
    const second = await peer(b.url, { resume: { session: first.welcome.session, token: first.welcome.token } });
    second.peer.send({ type: 'req', seq: 1, id: 'charge-1', method: 'charge', data: null });
    await sleep(50);
    assert.equal(second.peer.frames.filter((f) => f.type === 'reply').length, 0, 'no reply before the run finished');
    finish('charged');
    assert.deepEqual(await second.peer.next('reply'), { type: 'reply', seq: 1, ok: true, data: 'charged' });
    await second.peer.next('ack', (ack) => ack.seq === 1);
    assert.equal(runs, 1, 'the handler ran once, on node A');
  });

  it('a request resent to node B after node A finished it gets the kept outcome, even in a new session', async () => {
    let runs = 0;
    const [a, b] = await nodes({ handlers: { charge: () => ++runs } });
    const first = await peer(a.url);
    first.peer.send({ type: 'req', seq: 1, id: 'charge-1', method: 'charge', data: null });
    await first.peer.next('reply');
    // A new session on B (the welcome with the new token was lost, say): the id alone finds the outcome.
    const second = await peer(b.url);
    second.peer.send({ type: 'req', seq: 1, id: 'charge-1', method: 'charge', data: null });
    assert.deepEqual(await second.peer.next('reply'), { type: 'reply', seq: 1, ok: true, data: 1 });
    assert.equal(runs, 1);
  });

  it('a message published on one node reaches subscribers on the other, and only nodes with subscribers hear it', async () => {
    const [a, b] = await nodes();
    const subscriber = await peer(b.url);
    subscriber.peer.send({ type: 'sub', topic: 'news', from: 'now' });
    await subscriber.peer.next('subscribed');
    const heardOnA: string[] = [];
    a.server.hub.store.listen((event) => event.kind === 'appended' && heardOnA.push(event.topic));
    await a.server.publish('news', 'from A');
    assert.deepEqual((await subscriber.peer.next('msg')).data, 'from A');
    assert.deepEqual(heardOnA, [], 'node A has no subscriber of "news" and hears nothing of it');
  });

  it('chaos across nodes: cuts while messages flow both ways and requests run; each exactly once, in order', { timeout: 120_000 }, async () => {
    const seed = Number(process.env.HOLDFAST_SEED ?? Date.now() % 1_000_000);
    let state = seed;
    const random = (): number => ((state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    console.log(`# multi-node chaos seed ${seed} (HOLDFAST_SEED=${seed} replays it)`);
    const runs = new Map<string, number>();
    const [a, b] = await nodes({
      handlers: {
        double: (data) => {
          const key = String(data);
          runs.set(key, (runs.get(key) ?? 0) + 1);
          return Number(data) * 2;
        },
      },
    });
    const proxy = await TcpProxy.start([a.port, b.port]);
    cleanup.push(() => proxy.close());
    const client = new HoldfastClient({
      url: `ws://127.0.0.1:${proxy.port}/holdfast`,
      WebSocket: WebSocket as never,
      reconnect: { initialDelay: 5, maxDelay: 40 },
    });
    cleanup.push(() => client.close());
    const MESSAGES = 1500;
    const REQUESTS = 300;
    const seenByClient: unknown[] = [];
    const down = client.subscribe('down', (data) => seenByClient.push(data), { from: 'start' });
    await down.ready;

    let cuts = 0;
    let flowing = true;
    const chaos = (async () => {
      while (flowing) {
        await sleep(10 + random() * 60);
        if (proxy.killAll() > 0) cuts++;
      }
    })();
    const published: Array<Promise<void>> = [];
    const answers: Array<Promise<unknown>> = [];
    const upstream = (async () => {
      for (let i = 0; i < MESSAGES; i += 25) {
        for (let j = i; j < i + 25; j++) published.push(client.publish('up', j));
        if (i % 125 === 0) for (let r = (i / 125) * 25; r < (i / 125 + 1) * 25 && r < REQUESTS; r++) answers.push(client.request('double', r));
        await sleep(4);
      }
    })();
    const downstream = (async () => {
      for (let i = 0; i < MESSAGES; i += 25) {
        // Alternately from each node: one topic, one dense history, whichever node appends.
        const node = (i / 25) % 2 === 0 ? a : b;
        for (let j = i; j < i + 25; j++) await node.server.publish('down', j);
        await sleep(4);
      }
    })();
    await Promise.all([upstream, downstream]);
    await sleep(300);
    flowing = false;
    await chaos;
    await Promise.all(published);
    const results = await Promise.all(answers);
    await waitFor(() => seenByClient.length >= MESSAGES, `${MESSAGES} messages at the client (have ${seenByClient.length})`, 60_000);
    await sleep(200); // anything duplicated late would arrive now

    const expected = Array.from({ length: MESSAGES }, (_, i) => i);
    assert.ok(cuts >= 10, `only ${cuts} cuts happened`);
    assert.deepEqual(seenByClient, expected, 'down: every message once, in order, across both nodes');
    const up = await a.server.hub.store.read('up', 0, MESSAGES + 10);
    assert.deepEqual(up.messages.map((m) => m.data), expected, 'up: stored once each, in order, whichever node took it');
    assert.deepEqual(up.messages.map((m) => m.offset), expected.map((i) => i + 1), 'dense offsets');
    assert.deepEqual(results, Array.from({ length: results.length }, (_, r) => r * 2), 'every request answered with its own result');
    const twice = [...runs].filter(([, count]) => count !== 1);
    assert.deepEqual(twice, [], 'every request ran exactly once');
    assert.equal(runs.size, results.length);
  });
});
