import { DedupIndex } from '../../src/store/memory/dedup-index.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode } from '../../src/protocol/codes.js';
import { isHoldfastError } from '../../src/protocol/errors.js';
import { appendOk } from '../support/append.js';
import { MemoryBackend, MemoryStore, type StoreEvent } from '../../src/store/memory/index.js';
import { isRefusal, type AppendEntry, type AppendResult } from '../../src/store/types.js';
import { PROTOCOL_DEFAULTS } from '../../src/protocol/defaults.js';
import { storeConformance } from './conformance.js';

storeConformance('memory', (limits) => ({ store: new MemoryStore(limits) }));
storeConformance(
  'memory, shared backend',
  (limits) => {
    const backend = new MemoryBackend(limits);
    return { store: new MemoryStore({ backend }), peer: () => new MemoryStore({ backend }), setAvailable: (available) => backend.setAvailable(available) };
  },
  { deliversWatchedOnly: true, severalInstances: true },
);

const T0 = 1_700_000_000_000;

describe('MemoryStore', () => {
  it('gives every instance its own epoch, shared by all its topics', async () => {
    const [a, b] = [new MemoryStore(), new MemoryStore()];
    assert.notEqual(a.epoch, b.epoch);
    assert.equal((await a.info('x')).epoch, a.epoch);
    assert.equal((await a.info('y')).epoch, a.epoch);
    assert.equal((await new MemoryStore({ epoch: 'e1' }).info('x')).epoch, 'e1');
  });

  it('calls listeners during the append call, before its promise resolves', async () => {
    const store = new MemoryStore();
    const events: StoreEvent[] = [];
    store.listen((event) => events.push(event));
    const pending = store.append([{ topic: 't', data: 1, time: T0 }]);
    assert.equal(events.length, 1);
    await pending;
    await store.broadcast({ topic: 'v', data: 2 });
    assert.equal(events.length, 2);
  });

  it('reports a throwing listener and carries on', async () => {
    const errors: unknown[] = [];
    const store = new MemoryStore({ onListenerError: (error) => errors.push(error) });
    const boom = new Error('boom');
    const seen: number[] = [];
    store.listen(() => {
      throw boom;
    });
    store.listen((event) => {
      if (event.kind === 'appended') seen.push(...event.messages.map((m) => m.offset));
    });
    assert.deepEqual(
      (await appendOk(store, [{ topic: 't', data: 1, time: T0 }])).map((o) => o.offset),
      [1],
    );
    assert.deepEqual(seen, [1]);
    assert.deepEqual(errors, [boom]);
  });

  it('survives a failing error reporter', async () => {
    const store = new MemoryStore({
      onListenerError: () => {
        throw new Error('reporter');
      },
    });
    store.listen(() => {
      throw new Error('listener');
    });
    assert.equal((await appendOk(store, [{ topic: 't', data: 1, time: T0 }]))[0]?.offset, 1);
  });

  it('delivers events in order when a listener appends', async () => {
    const store = new MemoryStore();
    const seen: number[] = [];
    store.listen((event) => {
      if (event.kind === 'appended' && event.messages[0]?.offset === 1) {
        void store.append([{ topic: 't', data: 2, time: T0 }]);
      }
    });
    store.listen((event) => {
      if (event.kind === 'appended') seen.push(...event.messages.map((m) => m.offset));
    });
    await appendOk(store, [{ topic: 't', data: 1, time: T0 }]);
    assert.deepEqual(seen, [1, 2]);
  });

  it('counts one registration per listen call', async () => {
    const store = new MemoryStore();
    let calls = 0;
    const listener = () => calls++;
    const removeFirst = store.listen(listener);
    store.listen(listener);
    removeFirst();
    await store.broadcast({ topic: 'v', data: 1 });
    assert.equal(calls, 1);
  });

  it('hands out frozen messages that readers cannot alias', async () => {
    const store = new MemoryStore();
    await appendOk(store, [{ topic: 't', data: 'a', time: T0 }]);
    const { messages } = await store.read('t', 0, 10);
    const [message] = messages;
    assert.ok(message);
    assert.throws(() => {
      (message as { offset: number }).offset = 5;
    }, TypeError);
    messages.length = 0;
    assert.equal((await store.read('t', 0, 10)).messages.length, 1);
  });

  it("remembers a dedupKey for the protocol's window when no TTL is given", async () => {
    const store = new MemoryStore();
    const { dedupWindow } = PROTOCOL_DEFAULTS;
    const at = async (time: number) => (await appendOk(store, [{ topic: 't', data: time, dedupKey: 'd', time }]))[0];
    assert.equal((await at(T0))?.duplicate, false);
    assert.equal((await at(T0 + dedupWindow - 1))?.duplicate, true);
    assert.equal((await at(T0 + dedupWindow))?.duplicate, false);
  });

  it('forgets the oldest dedupKeys and claimed ids past maxDedupKeys', async () => {
    const store = new MemoryStore({ maxDedupKeys: 3 });
    for (const id of ['a', 'b', 'c', 'd']) await appendOk(store, [{ topic: 't', data: id, dedupKey: id, time: 0 }]);
    const [a, d] = await appendOk(store, [
      { topic: 't', data: 'a again', dedupKey: 'a', time: 1 },
      { topic: 't', data: 'd again', dedupKey: 'd', time: 1 },
    ]);
    assert.equal(a!.duplicate, false, 'a was the oldest and was forgotten');
    assert.equal(d!.duplicate, true, 'd is still remembered');
    assert.deepEqual(await store.claimIds(['x', 'y', 'z', 'w', 'x'], 1000, 0), [true, true, true, true, true]);
    assert.deepEqual(await store.claimIds(['w'], 1000, 0), [false]);
    await store.close();
  });

  it('keeps dedupKeys exact across eviction, re-adding and sweeping many of them', async () => {
    const store = new MemoryStore({ maxDedupKeys: 2000 });
    const entry = (n: number, time: number) => ({ topic: 't', data: n, dedupKey: `k${n}`, dedupTtlMs: 1000, time });
    const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
    const first = await appendOk(store, range(0, 3000).map((n) => entry(n, T0))); // k0..k999 are evicted
    const order = [...range(1000, 3000), ...range(0, 1000)];
    const again = await appendOk(store, order.map((n) => entry(n, T0 + 1))); // k0..k999 evict k1000..k1999
    order.forEach((n, i) => {
      if (n < 1000) assert.equal(again[i]!.duplicate, false, `k${n} was evicted`);
      else assert.deepEqual(again[i], { ...first[n]!, duplicate: true }, `k${n} is remembered with its offset`);
    });
    assert.deepEqual(await store.sweep(T0 + 1000), { sessions: 0, ids: 1000 }, 'k2000..k2999 expired, k0..k999 not yet');
    const [k0, k1500, k2999] = await appendOk(store, [entry(0, T0 + 1000), entry(1500, T0 + 1000), entry(2999, T0 + 1000)]);
    assert.deepEqual([k0!.duplicate, k1500!.duplicate, k2999!.duplicate], [true, false, false]);
    assert.equal(k0!.offset, again[2000]!.offset);
    await store.close();
  });

  it('keeps claimed ids exact across many evictions', async () => {
    const store = new MemoryStore({ maxDedupKeys: 2000 });
    const ids = Array.from({ length: 3000 }, (_, n) => `i${n}`);
    assert.ok((await store.claimIds(ids, 1000, T0)).every((fresh) => fresh));
    assert.deepEqual(await store.claimIds(['i2999', 'i1000', 'i999', 'i0'], 1000, T0 + 1), [false, false, true, true], 'i0..i999 were evicted');
    assert.deepEqual(await store.claimIds(['i1000', 'i1004'], 1000, T0 + 1), [true, false], 'i999 and i0 evicted i1000 and i1001; i1000 evicts i1002');
    assert.deepEqual(await store.sweep(T0 + 1000), { sessions: 0, ids: 1997 }, 'all but the three claimed at T0 + 1 expired');
    await store.close();
  });

  it('counts expired dedupKeys and claimed ids together in sweep', async () => {
    const store = new MemoryStore();
    await appendOk(store, [{ topic: 't', data: 1, dedupKey: 'd', dedupTtlMs: 10, time: T0 }]);
    await store.claimIds(['i'], 10, T0);
    assert.deepEqual(await store.sweep(T0 + 10), { sessions: 0, ids: 2 });
  });

  it('refuses new listeners after close', async () => {
    const store = new MemoryStore();
    await store.close();
    assert.throws(
      () => store.listen(() => {}),
      (error: unknown) => isHoldfastError(error) && error.code === ErrorCode.StoreUnavailable,
    );
  });

  it('refuses appends past maxBytes of retained data with STORE_FULL, and gets bytes back from trimming and compaction', async () => {
    const store = new MemoryStore({ maxBytes: 1000 });
    const code = (r: AppendResult) => (isRefusal(r) ? r.refused.code : r.offset);
    const put = (topic: string, size: number, extra: Partial<AppendEntry> = {}): AppendEntry => ({ topic, data: size, size, time: T0, ...extra });
    assert.deepEqual((await store.append([put('t', 400), put('t', 400), put('t', 400), put('u', 200)])).map(code), [1, 2, ErrorCode.StoreFull, 1]);
    assert.equal(store.retainedBytes, 1000);
    assert.deepEqual((await store.append([put('t', 1)])).map(code), [ErrorCode.StoreFull], 'one byte past is refused');
    await store.trim('t', { maxCount: 1 }, T0);
    assert.equal(store.retainedBytes, 600);
    // A compacted value replacing another counts the difference only.
    assert.deepEqual((await store.append([put('k', 400, { key: 'a', compact: true }), put('k', 400, { key: 'a', compact: true })])).map(code), [1, 2]);
    assert.deepEqual((await store.append([put('k', 1, { key: 'b', compact: true })])).map(code), [ErrorCode.StoreFull]);
    assert.equal(store.retainedBytes, 1000);
    // Forgetting a topic gives its bytes back; without `size` the UTF-8 length of the JSON counts.
    await store.trim('k', { maxCount: 0 }, T0);
    const [text] = await store.append([{ topic: 'v', data: 'é', time: T0 }]); // "é" is 4 bytes of UTF-8 JSON
    assert.ok(text !== undefined && !isRefusal(text));
    assert.equal(store.retainedBytes, 604);
    await store.close();
  });

  it('stops a read at maxBytes by the sizes the messages were appended with', async () => {
    const store = new MemoryStore();
    await appendOk(store, [10, 20, 30, 40].map((size) => ({ topic: 't', data: 'x', size, time: T0 })));
    assert.deepEqual((await store.read('t', 0, 10, 25)).messages.map((m) => m.offset), [1, 2]);
    assert.deepEqual((await store.read('t', 0, 10, 30)).messages.map((m) => m.offset), [1, 2, 3], 'exactly at the budget is not past it');
    assert.deepEqual((await store.read('t', 1, 10, 0)).messages.map((m) => m.offset), [2]);
  });

  it('stays correct through many array rebuilds of a long-running trimmed topic', async () => {
    const store = new MemoryStore();
    for (let i = 0; i < 200; i++) {
      await appendOk(store, Array.from({ length: 1000 }, (_, j) => ({ topic: 't', data: j, time: T0 })));
      await store.trim('t', { maxCount: 5000 }, T0);
    }
    const info = await store.info('t');
    assert.deepEqual([info.head, info.first], [200_000, 195_001]);
    assert.equal((await store.read('t', 199_998, 10)).messages.length, 2);
  });

  it('counts retained bytes exactly through compaction, trimming and array rebuilds', async () => {
    // Guards the per-message sizes kept beside the messages: a rebuild that misplaced one would
    // give back the wrong number of bytes when that message goes.
    const store = new MemoryStore();
    const sizeOf = (n: number) => (n % 7) + 1;
    let n = 0;
    for (let round = 0; round < 50; round++) {
      await appendOk(store, Array.from({ length: 500 }, () => ({ topic: 'k', data: n, size: sizeOf(n), key: `k${n++ % 300}`, compact: true, time: T0 })));
      await appendOk(store, Array.from({ length: 500 }, () => ({ topic: 'l', data: n, size: sizeOf(n++), time: T0 })));
      await store.trim('l', { maxCount: 700 }, T0);
      if (round % 10 === 9) await store.trim('k', { maxCount: 250 }, T0);
    }
    const retained = [...(await store.read('k', 0, 1e6)).messages, ...(await store.read('l', 0, 1e6)).messages];
    assert.equal(store.retainedBytes, retained.reduce((sum, m) => sum + sizeOf(m.data as number), 0));
    await store.trim('k', { maxCount: 0 }, T0);
    await store.trim('l', { maxCount: 0 }, T0);
    assert.equal(store.retainedBytes, 0);
  });
});

describe('DedupIndex sweep', () => {
  // The memory store's 30-second sweep walked every one of up to a million ids each time, on the
  // event loop. Ids arrive in time order with one window, so the sweep stops at the first live one.
  it('forgets expired keys from the oldest and stops at the first live one', () => {
    const index = new DedupIndex();
    for (let i = 0; i < 1000; i++) index.add(`old${i}`, i, 100, Infinity);
    for (let i = 0; i < 1000; i++) index.add(`new${i}`, i, 200, Infinity);
    assert.equal(index.sweep(150), 1000);
    assert.equal(index.size, 1000);
    assert.equal(index.find('new0', 150), 0);
    // Every key in its index array proves the stop: a live key touched by the sweep would be a bug.
    assert.equal(index.sweep(150), 0);
  });

  it('treats an expired key held back by a longer-lived older one as absent, and forgets it later', () => {
    const index = new DedupIndex();
    index.add('long', 1, 1000, Infinity);
    index.add('short', 2, 100, Infinity);
    assert.equal(index.sweep(500), 0, 'held back by the older, longer-lived key');
    assert.equal(index.find('short', 500), undefined, 'but already absent');
    assert.equal(index.sweep(1000), 2);
    assert.equal(index.size, 0);
  });
});

describe('MemoryBackend', () => {
  /** Two instances on one backend, each recording every event it hears. */
  const pair = () => {
    const backend = new MemoryBackend();
    const [a, b] = [new MemoryStore({ backend }), new MemoryStore({ backend })];
    const heard = { a: [] as StoreEvent[], b: [] as StoreEvent[] };
    a.listen((event) => heard.a.push(event));
    b.listen((event) => heard.b.push(event));
    return { backend, a, b, heard };
  };
  const offsets = (events: StoreEvent[]) => events.flatMap((e) => (e.kind === 'appended' ? e.messages.map((m) => m.offset) : []));

  it('delivers to every instance during the call, in one order, also when a listener appends', async () => {
    const { a, b, heard } = pair();
    await a.watch('t');
    await b.watch('t');
    a.listen((event) => {
      if (event.kind === 'appended' && event.messages[0]?.offset === 1) void a.append([{ topic: 't', data: 2, time: T0 }]);
    });
    const pending = b.append([{ topic: 't', data: 1, time: T0 }]);
    assert.deepEqual(offsets(heard.a), [1, 2], 'heard before the call resolved');
    assert.deepEqual(offsets(heard.b), [1, 2], 'the second instance hears the first event before the one it caused');
    await pending;
  });

  it('tells a takeover only to the instance that held the session before', async () => {
    const { backend, a, b, heard } = pair();
    const state = { id: 's', identity: null, tokenHash: 'ab'.repeat(32), expiresAt: T0 + 1000, version: 1, lastSeq: 0, doneAbove: [], cursors: {} };
    const change = { tokenHash: 'cd'.repeat(32), expiresAt: T0 + 2000 };
    assert.equal(await a.createSession(state), true);
    assert.equal(await a.takeSession('s', 1, change), 2);
    assert.deepEqual([heard.a, heard.b], [[], []], 'its own holder took it: nobody is told');
    assert.equal(await b.takeSession('s', 2, change), 3);
    assert.deepEqual([heard.a, heard.b], [[{ kind: 'session', id: 's', version: 3 }], []]);
    // The holder closed: a takeover tells nobody, and the store goes on.
    await b.close();
    const c = new MemoryStore({ backend });
    assert.equal(await c.takeSession('s', 3, change), 4);
    assert.equal(heard.a.length, 1);
    assert.equal(await a.takeSession('s', 4, change), 5);
    assert.equal(heard.a.length, 1);
  });

  it('sends a request event to the instances whose claim answered running only', async () => {
    const { backend, a, b, heard } = pair();
    const c = new MemoryStore({ backend });
    const heardByC: StoreEvent[] = [];
    c.listen((event) => heardByC.push(event));
    assert.deepEqual(await a.claimRequest('r', T0, 100, 1000), { state: 'new' });
    assert.deepEqual(await b.claimRequest('r', T0, 100, 1000), { state: 'running' });
    assert.deepEqual(await b.claimRequest('r', T0, 100, 1000), { state: 'running' });
    await a.completeRequest('r', { ok: true }, T0 + 1, 1000);
    assert.deepEqual(heard.b, [{ kind: 'request', key: 'r', outcome: { ok: true } }], 'once, though it asked twice');
    assert.deepEqual([heard.a, heardByC], [[], []]);
  });

  it('keeps the data of the backend when an instance closes, and stops telling that instance', async () => {
    const { backend, a, b, heard } = pair();
    await a.watch('t');
    await appendOk(a, [{ topic: 't', data: 1, time: T0 }]);
    assert.equal(backend.instances, 2);
    await a.close();
    assert.equal(backend.instances, 1);
    await b.watch('t');
    await appendOk(b, [{ topic: 't', data: 2, time: T0 }]);
    assert.deepEqual((await b.read('t', 0, 10)).messages.map((m) => m.data), [1, 2]);
    assert.deepEqual([offsets(heard.a), offsets(heard.b)], [[1], [2]]);
    await b.close();
    const again = new MemoryStore({ backend });
    assert.equal((await again.info('t')).head, 2, 'a backend given to its instances outlives them all');
  });

  it('clears a backend of its own when its instance closes', async () => {
    const store = new MemoryStore();
    await appendOk(store, [{ topic: 't', data: 1, time: T0 }]);
    await store.close();
    assert.equal(store.backend.retainedBytes, 0);
    assert.equal((await new MemoryStore({ backend: store.backend }).info('t')).head, 0);
  });

  it('refuses backend options beside a backend', () => {
    assert.throws(() => new MemoryStore({ backend: new MemoryBackend(), maxTopics: 3 }), TypeError);
  });

  it('plays an outage: health to every instance once per change, listen still works, watch fails', async () => {
    const { backend, a, b, heard } = pair();
    backend.setAvailable(true);
    assert.deepEqual(heard.a, [], 'no change, no event');
    backend.setAvailable(false);
    backend.setAvailable(false);
    assert.equal(backend.isAvailable, false);
    assert.deepEqual([heard.a, heard.b], [[{ kind: 'health', state: 'lost' }], [{ kind: 'health', state: 'lost' }]]);
    const late: StoreEvent[] = [];
    b.listen((event) => late.push(event));
    await assert.rejects(a.watch('t'), (error: unknown) => isHoldfastError(error) && error.code === ErrorCode.StoreUnavailable);
    backend.setAvailable(true);
    assert.deepEqual(late, [{ kind: 'health', state: 'back' }]);
    await appendOk(b, [{ topic: 't', data: 1, time: T0 }]);
    assert.deepEqual(offsets(heard.a), [], 'the failed watch watched nothing');
  });

  it('forgets the oldest request ids past maxDedupKeys', async () => {
    const store = new MemoryStore({ maxDedupKeys: 3 });
    for (const key of ['a', 'b', 'c', 'd']) assert.deepEqual(await store.claimRequest(key, T0, 100, 1000), { state: 'new' });
    assert.deepEqual(await store.claimRequest('a', T0, 100, 1000), { state: 'new' }, 'a was the oldest and was forgotten');
    assert.deepEqual(await store.claimRequest('d', T0, 100, 1000), { state: 'running' });
    assert.deepEqual(await store.sweep(T0 + 1000), { sessions: 0, ids: 3 }, 'b was forgotten for a: three are held');
  });
});
