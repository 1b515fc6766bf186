import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ErrorCode } from '../../src/protocol/codes.js';
import { isHoldfastError } from '../../src/protocol/errors.js';
import {
  isRefusal,
  type AppendEntry,
  type AppendResult,
  type KeptReply,
  type RequestOutcome,
  type SessionRecord,
  type SessionTakeover,
  type Store,
  type StoreEvent,
  type StoredMessage,
} from '../../src/store/types.js';
import { appendOk } from '../support/append.js';

/*
 * The contract every Store passes, unchanged (memory, SQLite, Redis).
 *
 * - `makeStore` returns a fresh store per test; the test closes it (close must be idempotent).
 *   Sessions and ids of one store must be isolated from other stores (a Redis store can use a fresh
 *   key prefix), because `sweep` counts are asserted exactly. Topic names are unique per test anyway.
 * - Nothing reads the wall clock: every time is passed explicitly, relative to T0.
 * - Events may arrive asynchronously (Redis pub/sub), so tests wait for them; the timeout only turns
 *   a hang into a failure. A test that an event does not come needs a store that delivers exactly
 *   what it was asked to (StoreTraits.deliversWatchedOnly), or one that delivers synchronously.
 */

const T0 = 1_700_000_000_000;
const EVENT_TIMEOUT_MS = 5_000;

const newTopic = (label = 't'): string => `${label}-${randomUUID()}`;

function entry(topic: string, data: unknown, extra: Partial<AppendEntry> = {}): AppendEntry {
  return { topic, data, time: T0, ...extra };
}

/** Every retained message after `after`, read in pages so large topics exercise `limit`. */
async function readAll(store: Store, topic: string, after = 0): Promise<StoredMessage[]> {
  const all: StoredMessage[] = [];
  for (;;) {
    const { messages } = await store.read(topic, after, 1000);
    const last = messages.at(-1);
    if (last === undefined) return all;
    all.push(...messages);
    after = last.offset;
  }
}

const offsetsOf = (messages: StoredMessage[]): number[] => messages.map((m) => m.offset);
const dataOf = (messages: StoredMessage[]): unknown[] => messages.map((m) => m.data);

interface Collector {
  events: StoreEvent[];
  /** Appended messages per event, for one topic. */
  appended(topic: string): StoredMessage[][];
  waitFor(done: (events: StoreEvent[]) => boolean): Promise<void>;
  stop(): void;
}

/** The topic of an appended or volatile event. */
const topicOf = (event: StoreEvent): string | undefined =>
  event.kind === 'appended' ? event.topic : event.kind === 'volatile' ? event.message.topic : undefined;

/** Records the events `keep` accepts (a shared backend may carry other tests' events). */
function record(store: Store, keep: (event: StoreEvent) => boolean): Collector {
  const events: StoreEvent[] = [];
  let wake: (() => void) | undefined;
  const stop = store.listen((event) => {
    if (!keep(event)) return;
    events.push(event);
    wake?.();
  });
  return {
    events,
    stop,
    appended: (topic) => events.flatMap((e) => (e.kind === 'appended' && e.topic === topic ? [e.messages] : [])),
    async waitFor(done) {
      while (!done(events)) {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`timed out waiting for store events; got ${JSON.stringify(events)}`)), EVENT_TIMEOUT_MS);
          wake = () => {
            clearTimeout(timer);
            wake = undefined;
            resolve();
          };
        });
      }
    },
  };
}

/** Watches `topics` and records their appended and volatile events. */
async function collect(store: Store, topics: string[]): Promise<Collector> {
  for (const topic of topics) await store.watch(topic);
  return record(store, (event) => topics.includes(topicOf(event)!));
}

function session(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    id: randomUUID(),
    identity: 'ann',
    tokenHash: 'ab'.repeat(32),
    previousTokenHash: 'cd'.repeat(32),
    expiresAt: T0 + 120_000,
    version: 1,
    lastSeq: 3,
    doneAbove: [5, 7],
    replies: [
      { seq: 5, ok: true, data: { sum: 3, parts: [1, 2] } },
      { seq: 7, ok: false, error: { code: 'FORBIDDEN', message: 'no' } },
    ],
    cursors: { chat: { epoch: 'e1', offset: 41 } },
    ...overrides,
  };
}

/** Creates `record` as a new session: its state, then the replies it keeps. */
async function create(store: Store, record: SessionRecord): Promise<void> {
  const { replies, ...state } = record;
  assert.equal(await store.createSession(state), true, `session ${state.id} created`);
  if (replies.length > 0) assert.deepEqual(await store.saveSessions([{ id: state.id, version: state.version, addReplies: replies }]), [true]);
}

const takeover = (n: number, previous = true): SessionTakeover => ({
  tokenHash: String(n).repeat(64),
  ...(previous ? { previousTokenHash: `${n}p`.repeat(32) } : {}),
  expiresAt: T0 + 200_000 + n,
});

/** An append result in brief: its offset, or the code it was refused with. */
const brief = (result: AppendResult | undefined): number | string | undefined =>
  result === undefined ? undefined : isRefusal(result) ? result.refused.code : result.offset;

const unavailable = (error: unknown): boolean => isHoldfastError(error) && error.code === ErrorCode.StoreUnavailable;

/** Options every store takes, which the suite sets to test them. */
export interface ConformanceLimits {
  maxTopics?: number;
}

/** A store made for one test, and what else the test may do with it. */
export interface StoreUnderTest {
  store: Store;
  /**
   * Another instance on the same backend (another server node of the same shared store), for the
   * tests of several instances, which run for a store made with it (StoreTraits.severalInstances).
   * The test closes it.
   */
  peer?: () => Promise<Store> | Store;
  /** Makes the backend unreachable (false) and reachable again (true), for the tests of outages. */
  setAvailable?: (available: boolean) => Promise<void> | void;
}

/** What the suite allows a store to do one way or the other. */
export interface StoreTraits {
  /**
   * Whether `read` stops early at its `maxBytes` (a store holding messages in memory may ignore it:
   * a byte budget would save it nothing). @default true
   */
  readHonoursMaxBytes?: boolean;
  /**
   * Whether an instance hears the appended and volatile events of the topics it watches only (the
   * contract allows more), so that the tests can show what an instance does not hear. @default false
   */
  deliversWatchedOnly?: boolean;
  /**
   * Whether the store is made with a `peer` (and `setAvailable`): several instances on one backend.
   * The tests of several instances and of outages are registered only then (a single-instance store
   * such as SQLite, whose lock file keeps a second process out, has none to run). @default false
   */
  severalInstances?: boolean;
}

export function storeConformance(
  name: string,
  makeStore: (limits?: ConformanceLimits) => Promise<StoreUnderTest> | StoreUnderTest,
  traits: StoreTraits = {},
): void {
  describe(`Store conformance: ${name}`, () => {
    let made: StoreUnderTest;
    let store: Store;
    const peers: Store[] = [];
    beforeEach(async () => {
      made = await makeStore();
      store = made.store;
    });

    const closeAll = async () => {
      for (const peer of peers.splice(0)) await peer.close();
      await store.close();
    };
    afterEach(closeAll);

    /** A second instance on the store's backend (the tests that ask for one run only with StoreTraits.severalInstances). */
    const peerOf = async (): Promise<Store> => {
      assert.ok(made.peer !== undefined, 'a store made for the tests of several instances has a peer');
      const peer = await made.peer();
      peers.push(peer);
      return peer;
    };

    describe('append', () => {
      it('assigns dense offsets from 1 across batches', async () => {
        const topic = newTopic();
        const first = await appendOk(store, [entry(topic, 'a'), entry(topic, 'b')]);
        const second = await appendOk(store, [entry(topic, 'c')]);
        const { epoch } = await store.info(topic);
        assert.deepEqual(first, [
          { offset: 1, epoch, duplicate: false },
          { offset: 2, epoch, duplicate: false },
        ]);
        assert.deepEqual(second, [{ offset: 3, epoch, duplicate: false }]);
        assert.deepEqual(await store.info(topic), { epoch, head: 3, first: 1 });
      });

      it('numbers each topic separately within one batch, outcomes in entry order', async () => {
        const [x, y] = [newTopic('x'), newTopic('y')];
        const outcomes = await appendOk(store, [entry(x, 1), entry(y, 2), entry(x, 3), entry(y, 4), entry(y, 5)]);
        assert.deepEqual(
          outcomes.map((o) => o.offset),
          [1, 1, 2, 2, 3],
        );
        assert.deepEqual(dataOf(await readAll(store, x)), [1, 3]);
        assert.deepEqual(dataOf(await readAll(store, y)), [2, 4, 5]);
      });

      it('returns no outcomes for an empty batch', async () => {
        assert.deepEqual(await appendOk(store, []), []);
      });

      it('applies concurrent append calls in call order', async () => {
        const [x, y] = [newTopic('x'), newTopic('y')];
        // Fired without awaiting: the ordering promise covers calls, not settled promises.
        const pending = Array.from({ length: 50 }, (_, i) => appendOk(store, [entry(i % 2 === 0 ? x : y, i)]));
        const offsets = (await Promise.all(pending)).map((outcomes) => outcomes[0]?.offset);
        assert.deepEqual(
          offsets,
          Array.from({ length: 50 }, (_, i) => Math.floor(i / 2) + 1),
        );
        const even = Array.from({ length: 25 }, (_, i) => i * 2);
        assert.deepEqual(dataOf(await readAll(store, x)), even);
        assert.deepEqual(
          dataOf(await readAll(store, y)),
          even.map((i) => i + 1),
        );
      });

      it('stores topic, offset, data, key and time, and round-trips JSON data', async () => {
        const topic = newTopic();
        const data = { text: 'héllo ✓', n: -1.5, list: [1, null, { deep: true }], empty: {}, no: false };
        await appendOk(store, [
          entry(topic, data, { time: T0 + 1 }),
          entry(topic, null, { key: 'k', time: T0 + 2 }),
          entry(topic, 'plain', { time: T0 + 3 }),
        ]);
        assert.deepEqual(await readAll(store, topic), [
          { topic, offset: 1, data, time: T0 + 1 },
          { topic, offset: 2, data: null, key: 'k', time: T0 + 2 },
          { topic, offset: 3, data: 'plain', time: T0 + 3 },
        ]);
      });

      it('handles a batch of 10,000 entries', async () => {
        const topic = newTopic();
        const count = 10_000;
        const outcomes = await appendOk(store, Array.from({ length: count }, (_, i) => entry(topic, { i })));
        assert.equal(outcomes.length, count);
        assert.ok(outcomes.every((o, i) => o.offset === i + 1 && !o.duplicate));
        const messages = await readAll(store, topic);
        assert.equal(messages.length, count);
        assert.ok(messages.every((m, i) => m.offset === i + 1 && (m.data as { i: number }).i === i));
        assert.deepEqual(offsetsOf((await store.read(topic, 9_990, 100)).messages), [
          9_991, 9_992, 9_993, 9_994, 9_995, 9_996, 9_997, 9_998, 9_999, 10_000,
        ]);
      });
    });

    describe('read and info', () => {
      it('reports an unknown topic as empty', async () => {
        const topic = newTopic();
        const info = await store.info(topic);
        assert.equal(typeof info.epoch, 'string');
        assert.deepEqual(info, { epoch: info.epoch, head: 0, first: 1 });
        assert.deepEqual(await store.read(topic, 0, 10), { ...info, messages: [] });
      });

      it('reads the messages after an offset, up to a limit', async () => {
        const topic = newTopic();
        await appendOk(store, Array.from({ length: 10 }, (_, i) => entry(topic, i + 1)));
        const page = await store.read(topic, 0, 3);
        assert.deepEqual(offsetsOf(page.messages), [1, 2, 3]);
        assert.equal(page.head, 10);
        assert.equal(page.first, 1);
        assert.deepEqual(offsetsOf((await store.read(topic, 3, 100)).messages), [4, 5, 6, 7, 8, 9, 10]);
        assert.deepEqual(offsetsOf((await store.read(topic, 9, 1)).messages), [10]);
      });

      it('returns nothing after the head, or for a zero limit', async () => {
        const topic = newTopic();
        await appendOk(store, [entry(topic, 'a'), entry(topic, 'b')]);
        assert.deepEqual((await store.read(topic, 2, 10)).messages, []);
        assert.deepEqual((await store.read(topic, 50, 10)).messages, []);
        assert.deepEqual((await store.read(topic, 0, 0)).messages, []);
      });

      it('stops a read at maxBytes, after the message that takes it past (at least one message)', async () => {
        const topic = newTopic();
        // ASCII data of 100 characters: 102 bytes of JSON by any measure (UTF-8 or UTF-16 units).
        await appendOk(store, Array.from({ length: 10 }, (_, i) => entry(topic, String(i).padEnd(100, '.'))));
        const all = (await store.read(topic, 0, 100)).messages;
        for (const maxBytes of [0, 250, 10_000]) {
          const { messages, head, first } = await store.read(topic, 0, 100, maxBytes);
          assert.deepEqual([head, first], [10, 1]);
          assert.ok(messages.length >= 1, 'at least one message, whatever the budget');
          assert.deepEqual(messages, all.slice(0, messages.length), 'a prefix of the full read');
        }
        assert.equal((await store.read(topic, 0, 100, 10_000)).messages.length, 10);
        assert.deepEqual(offsetsOf((await store.read(topic, 7, 2, 10_000)).messages), [8, 9], 'the limit still applies');
        if (traits.readHonoursMaxBytes === false) return;
        // 102 + 102 = 204 is within 250; the third message takes the data read past it, and ends the read.
        assert.deepEqual(offsetsOf((await store.read(topic, 0, 100, 250)).messages), [1, 2, 3]);
        assert.deepEqual(offsetsOf((await store.read(topic, 4, 100, 0)).messages), [5]);
        assert.deepEqual(offsetsOf((await store.read(topic, 4, 100, 204)).messages), [5, 6, 7]);
      });

      it('keeps the epoch of a topic stable within one instance', async () => {
        const topic = newTopic();
        const before = (await store.info(topic)).epoch;
        const [outcome] = await appendOk(store, [entry(topic, 'a'), entry(topic, 'b')]);
        await store.trim(topic, { maxCount: 1 }, T0);
        assert.equal(outcome?.epoch, before);
        assert.equal((await store.info(topic)).epoch, before);
        assert.equal((await store.read(topic, 0, 1)).epoch, before);
      });
    });

    describe('compaction', () => {
      it('keeps only the latest value per key, offsets increasing with gaps', async () => {
        const topic = newTopic();
        const c = { compact: true };
        await appendOk(store, [entry(topic, 'a1', { key: 'a', ...c }), entry(topic, 'b1', { key: 'b', ...c })]);
        const outcomes = await appendOk(store, [entry(topic, 'a2', { key: 'a', ...c })]);
        assert.equal(outcomes[0]?.offset, 3);
        assert.deepEqual(await readAll(store, topic), [
          { topic, offset: 2, data: 'b1', key: 'b', time: T0 },
          { topic, offset: 3, data: 'a2', key: 'a', time: T0 },
        ]);
        const { epoch } = await store.info(topic);
        assert.deepEqual(await store.info(topic), { epoch, head: 3, first: 2 });
      });

      it('compacts entries without a key under the key ""', async () => {
        const topic = newTopic();
        await appendOk(store, [entry(topic, 1, { compact: true })]);
        await appendOk(store, [entry(topic, 2, { compact: true }), entry(topic, 3, { compact: true, key: '' })]);
        assert.deepEqual(await readAll(store, topic), [{ topic, offset: 3, data: 3, key: '', time: T0 }]);
      });

      it('compacts within one batch', async () => {
        const topic = newTopic();
        const outcomes = await appendOk(store, [
          entry(topic, 'x1', { key: 'x', compact: true }),
          entry(topic, 'x2', { key: 'x', compact: true }),
        ]);
        assert.deepEqual(
          outcomes.map((o) => o.offset),
          [1, 2],
        );
        assert.deepEqual(dataOf(await readAll(store, topic)), ['x2']);
        assert.equal((await store.info(topic)).first, 2);
      });

      it('reads across the gaps', async () => {
        const topic = newTopic();
        const keys = ['a', 'b', 'a', 'c', 'b'];
        await appendOk(store, keys.map((key, i) => entry(topic, i + 1, { key, compact: true })));
        // Retained: a@3, c@4, b@5.
        assert.deepEqual(offsetsOf(await readAll(store, topic)), [3, 4, 5]);
        assert.deepEqual(offsetsOf(await readAll(store, topic, 1)), [3, 4, 5]);
        assert.deepEqual(offsetsOf(await readAll(store, topic, 3)), [4, 5]);
        assert.deepEqual(offsetsOf((await store.read(topic, 0, 2)).messages), [3, 4]);
        assert.equal((await store.read(topic, 0, 1)).first, 3);
      });

      it('stays correct over many updates of few keys', async () => {
        const topic = newTopic();
        for (let batch = 0; batch < 15; batch++) {
          await appendOk(store, 
            Array.from({ length: 300 }, (_, i) => {
              const n = batch * 300 + i;
              return entry(topic, n, { key: `k${n % 3}`, compact: true });
            }),
          );
        }
        assert.deepEqual(await readAll(store, topic), [
          { topic, offset: 4_498, data: 4_497, key: 'k0', time: T0 },
          { topic, offset: 4_499, data: 4_498, key: 'k1', time: T0 },
          { topic, offset: 4_500, data: 4_499, key: 'k2', time: T0 },
        ]);
        assert.deepEqual(offsetsOf((await store.read(topic, 4_498, 10)).messages), [4_499, 4_500]);
        const { epoch } = await store.info(topic);
        assert.deepEqual(await store.info(topic), { epoch, head: 4_500, first: 4_498 });
      });
    });

    describe('limits: refused entries', () => {
      /** A store of its own with these limits, closed after the test. */
      const withLimits = async (limits: ConformanceLimits, test: (limited: Store) => Promise<void>) => {
        const { store: limited } = await makeStore(limits);
        try {
          await test(limited);
        } finally {
          await limited.close();
        }
      };

      it('refuses an append that would create a topic past maxTopics, and appends the rest of the batch', async () => {
        await withLimits({ maxTopics: 2 }, async (limited) => {
          const [a, b, c] = [newTopic('a'), newTopic('b'), newTopic('c')];
          const events = await collect(limited, [a, b, c]);
          const results = await limited.append([entry(a, 1), entry(b, 1), entry(c, 1, { dedupKey: `d-${c}` }), entry(a, 2)]);
          assert.deepEqual(results.map(brief), [1, 1, ErrorCode.TooManyTopics, 2], 'a refused entry consumes no offset');
          assert.equal(typeof (results[2] as { refused: { message: string } }).refused.message, 'string');
          assert.deepEqual(await limited.info(c), { epoch: (await limited.info(c)).epoch, head: 0, first: 1 });
          assert.deepEqual((await limited.append([entry(c, 2)])).map(brief), [ErrorCode.TooManyTopics]);
          // Existing topics take appends as before, with or without `create`.
          assert.deepEqual((await limited.append([entry(b, 2, { create: false }), entry(b, 3)])).map(brief), [2, 3]);
          // A topic trimmed to nothing is forgotten and counts no more; the refused dedupKey was not remembered.
          await limited.trim(a, { maxCount: 0 }, T0);
          const [created] = await limited.append([entry(c, 3, { dedupKey: `d-${c}` })]);
          assert.deepEqual(created && !isRefusal(created) && [created.offset, created.duplicate], [1, false]);
          await events.waitFor(() => events.appended(c).length === 1);
          assert.deepEqual(events.appended(c), [[{ topic: c, offset: 1, data: 3, time: T0 }]], 'no event for a refused entry');
          events.stop();
        });
      });

      it('refuses an entry with create: false to a topic that holds nothing', async () => {
        const topic = newTopic();
        assert.deepEqual((await store.append([entry(topic, 1, { create: false })])).map(brief), [ErrorCode.TooManyTopics]);
        assert.equal((await store.info(topic)).head, 0, 'the refusal created nothing');
        // Within one batch, an entry that creates the topic lets the next ones append without creating.
        assert.deepEqual((await store.append([entry(topic, 2), entry(topic, 3, { create: false })])).map(brief), [1, 2]);
        assert.deepEqual(dataOf(await readAll(store, topic)), [2, 3]);
        await store.trim(topic, { maxCount: 0 }, T0);
        assert.deepEqual((await store.append([entry(topic, 4, { create: false })])).map(brief), [ErrorCode.TooManyTopics], 'a forgotten topic holds nothing');
      });

      it('refuses a new key past maxKeys on a compacted topic, and updates the existing keys', async () => {
        const topic = newTopic();
        const put = (key: string, data: unknown) => entry(topic, data, { key, compact: true, maxKeys: 2 });
        assert.deepEqual((await store.append([put('a', 'a1'), put('b', 'b1'), put('c', 'c1'), put('a', 'a2')])).map(brief), [1, 2, ErrorCode.TooManyKeys, 3]);
        assert.deepEqual((await store.append([put('c', 'c2'), put('b', 'b2')])).map(brief), [ErrorCode.TooManyKeys, 4]);
        assert.deepEqual(await readAll(store, topic), [
          { topic, offset: 3, data: 'a2', key: 'a', time: T0 },
          { topic, offset: 4, data: 'b2', key: 'b', time: T0 },
        ]);
        // A trim that removes a key makes room for a new one.
        await store.trim(topic, { maxCount: 1 }, T0);
        assert.deepEqual((await store.append([put('c', 'c3'), put('d', 'd1')])).map(brief), [5, ErrorCode.TooManyKeys]);
        // Without maxKeys a compacted append is not limited.
        assert.deepEqual((await store.append([entry(topic, 'd2', { key: 'd', compact: true })])).map(brief), [6]);
        assert.deepEqual((await store.append([put('e', 'e1')])).map(brief), [ErrorCode.TooManyKeys], 'b, c and d are three keys');
      });

      it('counts keys from nothing again once a compacted topic was forgotten', async () => {
        const topic = newTopic();
        const put = (key: string) => entry(topic, key, { key, compact: true, maxKeys: 2 });
        assert.deepEqual((await store.append([put('a'), put('b'), put('c')])).map(brief), [1, 2, ErrorCode.TooManyKeys]);
        assert.deepEqual(await store.trim(topic, { maxCount: 0 }, T0), { removed: 2 });
        assert.deepEqual((await store.append([put('c'), put('d'), put('a')])).map(brief), [1, 2, ErrorCode.TooManyKeys]);
        assert.deepEqual(dataOf(await readAll(store, topic)), ['c', 'd']);
      });
    });

    describe('dedupKey', () => {
      it('appends a dedupKey once within one batch', async () => {
        const topic = newTopic();
        const outcomes = await appendOk(store, [
          entry(topic, 'x', { dedupKey: 'd1', dedupTtlMs: 1000 }),
          entry(topic, 'y', { dedupKey: 'd1', dedupTtlMs: 1000 }),
          entry(topic, 'z', { dedupKey: 'd2', dedupTtlMs: 1000 }),
        ]);
        const { epoch } = await store.info(topic);
        assert.deepEqual(outcomes, [
          { offset: 1, epoch, duplicate: false },
          { offset: 1, epoch, duplicate: true },
          { offset: 2, epoch, duplicate: false },
        ]);
        assert.deepEqual(dataOf(await readAll(store, topic)), ['x', 'z']);
      });

      it('reports a later duplicate with the original offset, appends nothing and emits no event', async () => {
        const topic = newTopic();
        const events = await collect(store, [topic]);
        const dedup = { dedupKey: randomUUID(), dedupTtlMs: 1000 };
        await appendOk(store, [entry(topic, 'x', dedup)]);
        const [again] = await appendOk(store, [entry(topic, 'x again', { ...dedup, time: T0 + 10 })]);
        assert.equal(again?.offset, 1);
        assert.equal(again?.duplicate, true);
        // Events of one topic arrive in order, so once the marker is seen nothing else can come.
        await appendOk(store, [entry(topic, 'marker')]);
        await events.waitFor(() => events.appended(topic).length === 2);
        assert.deepEqual(events.appended(topic).map(offsetsOf), [[1], [2]]);
        assert.deepEqual(dataOf(await readAll(store, topic)), ['x', 'marker']);
        events.stop();
      });

      it('appends the same dedupKey again once its TTL passed', async () => {
        const topic = newTopic();
        const dedup = { dedupKey: randomUUID(), dedupTtlMs: 1000 };
        const at = async (time: number) => (await appendOk(store, [entry(topic, time, { ...dedup, time })]))[0];
        assert.deepEqual(await at(T0), { offset: 1, epoch: (await store.info(topic)).epoch, duplicate: false });
        assert.equal((await at(T0 + 999))?.duplicate, true);
        const renewed = await at(T0 + 1000);
        assert.equal(renewed?.duplicate, false);
        assert.equal(renewed?.offset, 2);
        // The new append starts a new window.
        assert.deepEqual(await at(T0 + 1500), { ...renewed, duplicate: true });
      });

      it('keeps unexpired dedupKeys through a sweep and forgets expired ones', async () => {
        const topic = newTopic();
        const [young, old] = [randomUUID(), randomUUID()];
        await appendOk(store, [
          entry(topic, 'young', { dedupKey: young, dedupTtlMs: 10_000 }),
          entry(topic, 'old', { dedupKey: old, dedupTtlMs: 100 }),
        ]);
        await store.sweep(T0 + 500);
        const outcomes = await appendOk(store, [
          entry(topic, 'young again', { dedupKey: young, dedupTtlMs: 10_000, time: T0 + 600 }),
          entry(topic, 'old again', { dedupKey: old, dedupTtlMs: 100, time: T0 + 600 }),
        ]);
        assert.deepEqual(
          outcomes.map((o) => [o.offset, o.duplicate]),
          [
            [1, true],
            [3, false],
          ],
        );
      });
    });

    describe('claimIds', () => {
      it('claims a key once, also within one call', async () => {
        const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
        assert.deepEqual(await store.claimIds([a], 1000, T0), [true]);
        assert.deepEqual(await store.claimIds([a, b, b, c], 1000, T0 + 1), [false, true, false, true]);
        assert.deepEqual(await store.claimIds([], 1000, T0), []);
      });

      it('lets a key be claimed again once its TTL passed', async () => {
        const id = randomUUID();
        assert.deepEqual(await store.claimIds([id], 100, T0), [true]);
        assert.deepEqual(await store.claimIds([id], 100, T0 + 99), [false]);
        assert.deepEqual(await store.claimIds([id], 100, T0 + 100), [true]);
        // The new claim starts a new TTL.
        assert.deepEqual(await store.claimIds([id], 100, T0 + 199), [false]);
      });

      it('is swept once expired, and only then', async () => {
        const short = [randomUUID(), randomUUID(), randomUUID()];
        const long = [randomUUID(), randomUUID()];
        await store.claimIds(short, 100, T0);
        await store.claimIds(long, 1000, T0);
        assert.deepEqual(await store.sweep(T0 + 99), { sessions: 0, ids: 0 });
        assert.deepEqual(await store.sweep(T0 + 100), { sessions: 0, ids: 3 });
        assert.deepEqual(await store.claimIds(long, 1000, T0 + 100), [false, false]);
        assert.deepEqual(await store.claimIds(short, 1000, T0 + 100), [true, true, true]);
      });
    });

    describe('trim', () => {
      const fill = async (topic: string, count: number, time: (i: number) => number = () => T0) =>
        appendOk(store, Array.from({ length: count }, (_, i) => entry(topic, i + 1, { time: time(i + 1) })));

      it('by count: keeps the newest messages, first moves, offsets continue', async () => {
        const topic = newTopic();
        await fill(topic, 10);
        assert.equal((await store.trim(topic, { maxCount: 4 }, T0)).removed, 6);
        const { epoch } = await store.info(topic);
        assert.deepEqual(await store.info(topic), { epoch, head: 10, first: 7 });
        assert.deepEqual(offsetsOf(await readAll(store, topic)), [7, 8, 9, 10]);
        assert.deepEqual(offsetsOf(await readAll(store, topic, 8)), [9, 10]);
        assert.equal((await store.trim(topic, { maxCount: 4 }, T0)).removed, 0);
        assert.equal((await appendOk(store, [entry(topic, 11)]))[0]?.offset, 11);
      });

      it('by age: removes messages older than maxAgeMs', async () => {
        const topic = newTopic();
        await fill(topic, 10, (i) => T0 + i * 1000);
        // Cutoff T0 + 7000: the message of exactly that time is 3000 ms old, not older, and stays.
        assert.equal((await store.trim(topic, { maxAgeMs: 3000 }, T0 + 10_000)).removed, 6);
        assert.deepEqual(offsetsOf(await readAll(store, topic)), [7, 8, 9, 10]);
        assert.equal((await store.info(topic)).first, 7);
      });

      it('by count and age together', async () => {
        const topic = newTopic();
        await fill(topic, 10, (i) => T0 + i * 1000);
        assert.equal((await store.trim(topic, { maxCount: 5, maxAgeMs: 2000 }, T0 + 10_000)).removed, 7);
        assert.deepEqual(offsetsOf(await readAll(store, topic)), [8, 9, 10]);
        assert.equal((await store.trim(topic, { maxCount: 5, maxAgeMs: 2000 }, T0 + 8_500)).removed, 0);
        assert.equal((await store.trim(topic, { maxCount: 1 }, T0)).removed, 2);
        assert.deepEqual(offsetsOf(await readAll(store, topic)), [10]);
      });

      it('removes nothing without a policy or on an unknown topic', async () => {
        const topic = newTopic();
        await fill(topic, 3);
        assert.equal((await store.trim(topic, {}, T0 + 1e9)).removed, 0);
        assert.equal((await store.trim(newTopic(), { maxCount: 0, maxAgeMs: 0 }, T0)).removed, 0);
        assert.equal((await readAll(store, topic)).length, 3);
      });

      it('tells the time of the oldest message retained after a trim', async () => {
        const topic = newTopic();
        await appendOk(store, [1, 2, 3].map((i) => entry(topic, i, { time: T0 + i * 1000 })));
        assert.deepEqual(await store.trim(topic, { maxAgeMs: 1500 }, T0 + 3000), { removed: 1, oldest: T0 + 2000 });
        assert.deepEqual(await store.trim(topic, {}, T0 + 3000), { removed: 0, oldest: T0 + 2000 });
      });

      it('forgets a topic trimmed to nothing: its next history starts at 1 in a new epoch', async () => {
        const topic = newTopic();
        await fill(topic, 5);
        const old = await store.info(topic);
        assert.deepEqual(await store.trim(topic, { maxCount: 0 }, T0), { removed: 5 });
        const [outcome] = await appendOk(store, [entry(topic, 'next')]);
        assert.equal(outcome?.offset, 1);
        assert.notEqual(outcome?.epoch, old.epoch);
        const { epoch } = await store.info(topic);
        assert.equal(epoch, outcome?.epoch);
        assert.deepEqual(await store.read(topic, 0, 10), { epoch, head: 1, first: 1, messages: [{ topic, offset: 1, data: 'next', time: T0 }] });
      });

      it('reports, for a topic that holds nothing, the epoch it will be created with', async () => {
        const [topic, other] = [newTopic(), newTopic('other')];
        await appendOk(store, [entry(topic, 1), entry(other, 1)]);
        const events = await collect(store, [topic]);
        await store.trim(topic, { maxCount: 0 }, T0);
        const forgotten = await store.info(topic);
        assert.deepEqual(await store.read(topic, 0, 10), { ...forgotten, messages: [] });
        assert.deepEqual([forgotten.head, forgotten.first], [0, 1]);
        const unknown = await store.info(newTopic('unknown'));
        assert.equal(unknown.epoch, forgotten.epoch, 'every topic that holds nothing is created in the same epoch');
        const [outcome] = await appendOk(store, [entry(topic, 2)]);
        assert.deepEqual(outcome, { offset: 1, epoch: forgotten.epoch, duplicate: false });
        await events.waitFor(() => events.appended(topic).length === 1);
        assert.equal((events.events[0] as { epoch: string }).epoch, forgotten.epoch, 'events carry the new epoch');
        // Topics that were not forgotten keep theirs.
        assert.notEqual((await store.info(other)).epoch, forgotten.epoch);
        events.stop();
      });

      it('trims a compacted topic and keeps compacting the trimmed keys', async () => {
        const topic = newTopic();
        const put = (key: string, data: unknown) => appendOk(store, [entry(topic, data, { key, compact: true })]);
        await put('a', 'a1');
        await put('b', 'b1');
        await put('c', 'c1');
        assert.equal((await store.trim(topic, { maxCount: 1 }, T0)).removed, 2);
        assert.equal((await store.info(topic)).first, 3);
        await put('a', 'a2');
        assert.deepEqual(dataOf(await readAll(store, topic)), ['c1', 'a2']);
        await put('c', 'c2');
        assert.deepEqual(offsetsOf(await readAll(store, topic)), [4, 5]);
        assert.deepEqual(dataOf(await readAll(store, topic)), ['a2', 'c2']);
        assert.equal((await store.trim(topic, { maxCount: 0 }, T0)).removed, 2);
        await put('a', 'a3');
        assert.deepEqual(dataOf(await readAll(store, topic)), ['a3']);
        assert.equal((await store.info(topic)).first, 1); // forgotten when emptied: a new history
      });

      it('stays correct when trimmed in many steps', async () => {
        const topic = newTopic();
        for (let batch = 0; batch < 10; batch++) {
          await appendOk(store, Array.from({ length: 500 }, (_, i) => entry(topic, batch * 500 + i + 1)));
          await store.trim(topic, { maxCount: 700 }, T0);
        }
        const messages = await readAll(store, topic);
        assert.equal(messages.length, 700);
        assert.ok(messages.every((m, i) => m.offset === 4_301 + i && m.data === m.offset));
        assert.equal((await store.info(topic)).first, 4_301);
        assert.deepEqual(offsetsOf((await store.read(topic, 4_500, 3)).messages), [4_501, 4_502, 4_503]);
        assert.deepEqual(offsetsOf((await store.read(topic, 10, 2)).messages), [4_301, 4_302]);
      });
    });

    describe('listen and broadcast', () => {
      it('emits one event per topic per append call, with the stored messages', async () => {
        const [x, y] = [newTopic('x'), newTopic('y')];
        const events = await collect(store, [x, y]);
        await appendOk(store, [entry(x, 'x1'), entry(y, 'y1'), entry(x, 'x2', { key: 'k' })]);
        await appendOk(store, [entry(x, 'x3')]);
        await events.waitFor(() => events.appended(x).length === 2 && events.appended(y).length === 1);
        const { epoch } = await store.info(x);
        const ofX = events.events.filter((e) => e.kind === 'appended' && e.topic === x);
        assert.deepEqual(ofX, [
          {
            kind: 'appended',
            topic: x,
            epoch,
            messages: [
              { topic: x, offset: 1, data: 'x1', time: T0 },
              { topic: x, offset: 2, data: 'x2', key: 'k', time: T0 },
            ],
          },
          { kind: 'appended', topic: x, epoch, messages: [{ topic: x, offset: 3, data: 'x3', time: T0 }] },
        ]);
        assert.deepEqual(events.appended(y), [[{ topic: y, offset: 1, data: 'y1', time: T0 }]]);
        events.stop();
      });

      it('emits appends to compacted topics', async () => {
        const topic = newTopic();
        const events = await collect(store, [topic]);
        await appendOk(store, [entry(topic, 'v', { key: 'k', compact: true })]);
        await events.waitFor(() => events.appended(topic).length === 1);
        assert.deepEqual(events.appended(topic), [[{ topic, offset: 1, data: 'v', key: 'k', time: T0 }]]);
        events.stop();
      });

      it('broadcasts volatile messages to every listener and stores nothing', async () => {
        const topic = newTopic('volatile');
        const [one, two] = [await collect(store, [topic]), await collect(store, [topic])];
        await store.broadcast({ topic, data: { typing: true }, key: 'ann' });
        await store.broadcast({ topic, data: 2 });
        for (const events of [one, two]) {
          await events.waitFor((list) => list.length === 2);
          assert.deepEqual(events.events, [
            { kind: 'volatile', message: { topic, data: { typing: true }, key: 'ann' } },
            { kind: 'volatile', message: { topic, data: 2 } },
          ]);
          events.stop();
        }
        assert.equal((await store.info(topic)).head, 0);
      });

      it('stops calling a removed listener', async () => {
        const topic = newTopic();
        const [removed, kept] = [await collect(store, [topic]), await collect(store, [topic])];
        await appendOk(store, [entry(topic, 1)]);
        await removed.waitFor((list) => list.length === 1);
        await kept.waitFor((list) => list.length === 1);
        removed.stop();
        removed.stop(); // Removing twice is harmless.
        await appendOk(store, [entry(topic, 2)]);
        await store.broadcast({ topic, data: 3 });
        await kept.waitFor((list) => list.length === 3);
        assert.equal(removed.events.length, 1);
        kept.stop();
      });
    });

    describe('sessions', () => {
      it('creates, loads and deletes sessions, each at its version', async () => {
        const [a, b] = [session(), session({ identity: null, expiresAt: T0 + 5, cursors: {}, doneAbove: [], replies: [] })];
        assert.equal(await store.loadSession(a.id), undefined);
        await create(store, a);
        await create(store, b);
        assert.deepEqual(await store.loadSession(a.id), a);
        assert.deepEqual(await store.loadSession(b.id), b);
        const { replies: _, ...state } = a;
        assert.equal(await store.createSession({ ...state, lastSeq: 99 }), false, 'the id exists');
        assert.deepEqual(await store.loadSession(a.id), a, 'a refused create changes nothing');
        await store.deleteSession(a.id, 2);
        assert.deepEqual(await store.loadSession(a.id), a, 'a delete at another version does nothing');
        await store.deleteSession(a.id, 1);
        await store.deleteSession(a.id, 1); // Deleting an unknown session is harmless.
        assert.equal(await store.loadSession(a.id), undefined);
        assert.deepEqual(await store.loadSession(b.id), b);
        assert.deepEqual(await store.saveSessions([]), []);
        // The id is free again: a new session starts at version 1 without the old one's replies.
        assert.equal(await store.createSession({ ...state, lastSeq: 0 }), true);
        assert.deepEqual(await store.loadSession(a.id), { ...state, lastSeq: 0, replies: [] });
      });

      it('applies each part of an update alone, and keeps what the update does not name', async () => {
        const a = session();
        await create(store, a);
        assert.deepEqual(await store.saveSessions([{ id: a.id, version: 1, expiresAt: T0 + 7 }]), [true]);
        assert.deepEqual(await store.loadSession(a.id), { ...a, expiresAt: T0 + 7 });
        assert.deepEqual(await store.saveSessions([{ id: a.id, version: 1, ledger: { lastSeq: 8, doneAbove: [10] } }]), [true]);
        assert.deepEqual(await store.loadSession(a.id), { ...a, expiresAt: T0 + 7, lastSeq: 8, doneAbove: [10] });
        assert.deepEqual(await store.saveSessions([{ id: a.id, version: 1, ledger: { lastSeq: 10, doneAbove: [] } }]), [true]);
        assert.deepEqual(await store.saveSessions([{ id: a.id, version: 1 }]), [true], 'an empty update applies and changes nothing');
        assert.deepEqual(await store.loadSession(a.id), { ...a, expiresAt: T0 + 7, lastSeq: 10, doneAbove: [] });
      });

      it('patches cursors: sets, replaces, removes with null, and keeps the others', async () => {
        const a = session({ cursors: { chat: { epoch: 'e1', offset: 41 }, news: { epoch: 'e1', offset: 3 }, keep: { epoch: 'k', offset: 1 } } });
        await create(store, a);
        const cursors = async () => (await store.loadSession(a.id))?.cursors;
        const patch = (cursors: Record<string, { epoch: string; offset: number } | null>) => store.saveSessions([{ id: a.id, version: 1, cursors }]);
        assert.deepEqual(await patch({ chat: { epoch: 'e2', offset: 5 }, extra: { epoch: 'e1', offset: 9 }, news: null }), [true]);
        assert.deepEqual(await cursors(), { chat: { epoch: 'e2', offset: 5 }, extra: { epoch: 'e1', offset: 9 }, keep: { epoch: 'k', offset: 1 } });
        assert.deepEqual(await patch({ gone: null }), [true], 'removing an unknown cursor is harmless');
        assert.deepEqual(await patch({ 'a.b': { epoch: 'x', offset: 2 }, 'with "quotes"': { epoch: 'y', offset: 3 } }), [true], 'topics are plain keys');
        assert.deepEqual(await cursors(), {
          chat: { epoch: 'e2', offset: 5 },
          extra: { epoch: 'e1', offset: 9 },
          keep: { epoch: 'k', offset: 1 },
          'a.b': { epoch: 'x', offset: 2 },
          'with "quotes"': { epoch: 'y', offset: 3 },
        });
        assert.deepEqual(await patch({ chat: null, extra: null, keep: null, 'a.b': null, 'with "quotes"': null }), [true]);
        assert.deepEqual(await cursors(), {});
        assert.deepEqual(await patch({ chat: { epoch: 'e3', offset: 1 } }), [true]);
        assert.deepEqual(await store.loadSession(a.id), { ...a, cursors: { chat: { epoch: 'e3', offset: 1 } } }, 'nothing else moved');
      });

      it('takes a session over at its version only: new token, new lease, one version on', async () => {
        const a = session();
        await create(store, a);
        assert.equal(await store.takeSession(a.id, 1, takeover(1)), 2);
        const { previousTokenHash: _, ...rest } = a;
        assert.deepEqual(await store.loadSession(a.id), { ...rest, ...takeover(1), version: 2 }, 'the ledger, cursors and replies are kept');
        assert.equal(await store.takeSession(a.id, 1, takeover(9)), undefined, 'the record moved on');
        assert.equal(await store.takeSession(randomUUID(), 1, takeover(9)), undefined, 'no such session');
        assert.equal(await store.takeSession(a.id, 2, takeover(2, false)), 3);
        assert.deepEqual(await store.loadSession(a.id), { ...rest, ...takeover(2, false), version: 3 }, 'an absent previousTokenHash drops it');
      });

      it('refuses the writes of a version that was taken over, and applies the rest of the batch', async () => {
        const [a, b] = [session(), session()];
        await create(store, a);
        await create(store, b);
        assert.equal(await store.takeSession(a.id, 1, takeover(1)), 2);
        const ledger = { lastSeq: 50, doneAbove: [] };
        const saved = await store.saveSessions([
          { id: a.id, version: 1, ledger, cursors: { chat: null }, addReplies: [{ seq: 60, ok: true }], removeReplies: [5] },
          { id: b.id, version: 1, ledger },
          { id: randomUUID(), version: 1, ledger },
          { id: a.id, version: 1, addReplies: [{ seq: 61, ok: true }], removeReplies: [7] },
          { id: randomUUID(), version: 1, addReplies: [{ seq: 1, ok: true }] },
        ]);
        assert.deepEqual(saved, [false, true, false, false, false], 'stale, applied, missing, stale (replies only), missing (replies only)');
        const { previousTokenHash: _, ...rest } = a;
        assert.deepEqual(await store.loadSession(a.id), { ...rest, ...takeover(1), version: 2 }, 'nothing of the stale update applied');
        assert.deepEqual(await store.loadSession(b.id), { ...b, lastSeq: 50, doneAbove: [] });
        await store.deleteSession(a.id, 1);
        assert.equal((await store.loadSession(a.id))?.version, 2, 'nor did the stale delete');
        assert.deepEqual(await store.saveSessions([{ id: a.id, version: 2, ledger }]), [true], 'the new holder writes');
        await store.deleteSession(a.id, 2);
        assert.equal(await store.loadSession(a.id), undefined);
        assert.deepEqual(await store.saveSessions([{ id: a.id, version: 2, ledger }]), [false], 'a deleted session takes no write');
        assert.equal(await store.loadSession(a.id), undefined, 'and is not created again by one');
      });

      it('adds and removes kept replies one by one, in seq order, without rewriting the others', async () => {
        const a = session({ replies: [] });
        await create(store, a);
        const save = (update: { addReplies?: KeptReply[]; removeReplies?: number[] }) => store.saveSessions([{ id: a.id, version: 1, ...update }]);
        const reply = (seq: number) => ({ seq, id: `r${seq}`, ok: true, data: { seq } });
        await save({ addReplies: [reply(3), reply(1)] });
        await save({ addReplies: [reply(2)], removeReplies: [3] });
        assert.deepEqual((await store.loadSession(a.id))?.replies, [reply(1), reply(2)]);
        // Removals apply after additions in one update; removing an unknown seq is harmless.
        await save({ addReplies: [reply(4)], removeReplies: [4, 99] });
        assert.deepEqual((await store.loadSession(a.id))?.replies, [reply(1), reply(2)]);
        // A reply saved again with a seq already kept replaces it.
        await save({ addReplies: [{ ...reply(2), data: 'again' }] });
        assert.deepEqual((await store.loadSession(a.id))?.replies, [reply(1), { ...reply(2), data: 'again' }]);
        // Deleting the session deletes its replies: a new session with the same id starts empty.
        await store.deleteSession(a.id, 1);
        await create(store, a);
        assert.deepEqual((await store.loadSession(a.id))?.replies, []);
      });

      it('confirms kept replies one by one among thousands', async () => {
        const a = session({ replies: Array.from({ length: 10_000 }, (_, i) => ({ seq: i + 1, ok: true, data: { seq: i + 1 } })) });
        await create(store, a);
        for (let seq = 1; seq <= 1_000; seq++) {
          assert.deepEqual(await store.saveSessions([{ id: a.id, version: 1, ledger: { lastSeq: seq, doneAbove: [] }, removeReplies: [seq] }]), [true]);
        }
        const loaded = await store.loadSession(a.id);
        assert.equal(loaded?.lastSeq, 1_000);
        assert.equal(loaded?.replies.length, 9_000);
        assert.ok(loaded?.replies.every((r, i) => r.seq === 1_001 + i && (r.data as { seq: number }).seq === r.seq));
      });

      it('sweeps many expired sessions with all their replies', async () => {
        const records = Array.from({ length: 30 }, (_, n) =>
          session({ expiresAt: T0 + 10, replies: Array.from({ length: 10 }, (_, i) => ({ seq: i + 1, ok: true, data: n })) }),
        );
        const kept = session({ expiresAt: T0 + 11 });
        for (const r of [...records, kept]) await create(store, r);
        assert.deepEqual(await store.sweep(T0 + 10), { sessions: 30, ids: 0 });
        assert.deepEqual(await store.loadSession(kept.id), kept);
        // A session created again with a swept id starts without the replies it had.
        const { replies: _, ...state } = records[0]!;
        assert.equal(await store.createSession({ ...state, expiresAt: T0 + 1000 }), true);
        assert.deepEqual((await store.loadSession(state.id))?.replies, []);
      });

      it('keeps its own copy of a session', async () => {
        const a = session();
        const expected = structuredClone(a);
        const { replies, ...state } = a;
        await store.createSession(state);
        const update = { id: a.id, version: 1, addReplies: replies, cursors: { news: { epoch: 'n', offset: 1 } as { epoch: string; offset: number } | null } };
        await store.saveSessions([update]);
        state.lastSeq = 99;
        state.doneAbove.push(100);
        state.cursors['chat'] = { epoch: 'e2', offset: 1 };
        replies[0]!.data = 'changed';
        update.cursors.news = { epoch: 'changed', offset: 9 };
        const withNews: SessionRecord = { ...expected, cursors: { ...expected.cursors, news: { epoch: 'n', offset: 1 } } };
        const loaded = await store.loadSession(a.id);
        assert.deepEqual(loaded, withNews);
        assert.ok(loaded);
        loaded.replies.length = 0;
        loaded.cursors = {};
        loaded.doneAbove.push(1);
        assert.deepEqual(await store.loadSession(a.id), withNews);
      });

      it('sweeps sessions whose expiry (a lease while connected) has passed, with their replies', async () => {
        const due = session({ expiresAt: T0 + 100 });
        const late = session({ expiresAt: T0 + 101 });
        await create(store, due);
        await create(store, late);
        assert.deepEqual(await store.sweep(T0 + 99), { sessions: 0, ids: 0 });
        assert.deepEqual(await store.sweep(T0 + 100), { sessions: 1, ids: 0 });
        assert.equal(await store.loadSession(due.id), undefined);
        assert.deepEqual(await store.loadSession(late.id), late);
        // A renewed lease moves the expiry on, and so does a takeover.
        assert.deepEqual(await store.saveSessions([{ id: late.id, version: 1, expiresAt: T0 + 500 }]), [true]);
        assert.deepEqual(await store.sweep(T0 + 499), { sessions: 0, ids: 0 });
        assert.equal(await store.takeSession(late.id, 1, { tokenHash: 'ef'.repeat(32), expiresAt: T0 + 600 }), 2);
        assert.deepEqual(await store.sweep(T0 + 599), { sessions: 0, ids: 0 });
        assert.deepEqual(await store.sweep(T0 + 1e12), { sessions: 1, ids: 0 });
        assert.equal(await store.loadSession(late.id), undefined);
      });
    });

    describe('request runs', () => {
      const ok = (data: unknown): RequestOutcome => ({ ok: true, data });
      const LEASE = 100;
      const TTL = 1000;

      it('answers new to the first claim, then running until the lease runs out, then lost', async () => {
        const key = randomUUID();
        assert.deepEqual(await store.claimRequest(key, T0, LEASE, TTL), { state: 'new' });
        assert.deepEqual(await store.claimRequest(key, T0 + 1, LEASE, TTL), { state: 'running' });
        assert.deepEqual(await store.claimRequest(key, T0 + 99, LEASE, TTL), { state: 'running' });
        assert.deepEqual(await store.claimRequest(key, T0 + 100, LEASE, TTL), { state: 'lost' });
        assert.deepEqual(await store.claimRequest(key, T0 + 999, LEASE, TTL), { state: 'lost' }, 'claims do not start it over');
        assert.deepEqual(await store.claimRequest(key, T0 + 1000, LEASE, TTL), { state: 'new' }, 'past its ttl the id is new');
        assert.deepEqual(await store.claimRequest(key, T0 + 1001, LEASE, TTL), { state: 'running' }, 'and runs again');
        assert.deepEqual(await store.claimRequest(randomUUID(), T0 + 1, LEASE, TTL), { state: 'new' }, 'ids are separate');
      });

      it('extends the leases of the runs renewed', async () => {
        const [renewed, other] = [randomUUID(), randomUUID()];
        await store.claimRequest(renewed, T0, LEASE, TTL);
        await store.claimRequest(other, T0, LEASE, TTL);
        await store.renewRequests([renewed, randomUUID()], T0 + 80, LEASE);
        await store.renewRequests([], T0 + 80, LEASE);
        assert.deepEqual(await store.claimRequest(other, T0 + 100, LEASE, TTL), { state: 'lost' });
        assert.deepEqual(await store.claimRequest(renewed, T0 + 179, LEASE, TTL), { state: 'running' });
        assert.deepEqual(await store.claimRequest(renewed, T0 + 180, LEASE, TTL), { state: 'lost' });
      });

      it('keeps the outcome of a finished run until its ttl, then forgets the id', async () => {
        const key = randomUUID();
        await store.claimRequest(key, T0, LEASE, TTL);
        const outcome = { ok: false, data: { partial: [1, 2] }, error: { code: 'FORBIDDEN', message: 'no' } };
        await store.completeRequest(key, outcome, T0 + 50, 500);
        outcome.data.partial.push(3);
        const done = { state: 'done', outcome: { ok: false, data: { partial: [1, 2] }, error: { code: 'FORBIDDEN', message: 'no' } } };
        assert.deepEqual(await store.claimRequest(key, T0 + 200, LEASE, TTL), done, 'a finished run is not lost when its lease runs out');
        assert.deepEqual(await store.claimRequest(key, T0 + 549, LEASE, TTL), done, 'remembered ttlMs from its completion');
        assert.deepEqual(await store.claimRequest(key, T0 + 550, LEASE, TTL), { state: 'new' });
      });

      it('records the outcome of a run that was reported lost', async () => {
        const key = randomUUID();
        await store.claimRequest(key, T0, LEASE, TTL);
        assert.deepEqual(await store.claimRequest(key, T0 + 200, LEASE, TTL), { state: 'lost' });
        await store.completeRequest(key, ok('late'), T0 + 300, TTL);
        assert.deepEqual(await store.claimRequest(key, T0 + 301, LEASE, TTL), { state: 'done', outcome: ok('late') });
      });

      it('forgets confirmed outcomes, and keeps the ids claimed until their ttl', async () => {
        const [confirmed, kept] = [randomUUID(), randomUUID()];
        for (const key of [confirmed, kept]) {
          await store.claimRequest(key, T0, LEASE, TTL);
          await store.completeRequest(key, ok(key), T0 + 10, TTL);
        }
        await store.confirmRequests([confirmed, randomUUID()]);
        await store.confirmRequests([]);
        assert.deepEqual(await store.claimRequest(confirmed, T0 + 20, LEASE, TTL), { state: 'confirmed' });
        assert.deepEqual(await store.claimRequest(kept, T0 + 20, LEASE, TTL), { state: 'done', outcome: ok(kept) });
        assert.deepEqual(await store.claimRequest(confirmed, T0 + 1009, LEASE, TTL), { state: 'confirmed' });
        assert.deepEqual(await store.claimRequest(confirmed, T0 + 1010, LEASE, TTL), { state: 'new' });
      });

      it('tells a claim that answered running of the outcome, as a request event', async () => {
        const key = randomUUID();
        const events = record(store, (event) => event.kind === 'request' && event.key === key);
        await store.claimRequest(key, T0, LEASE, TTL);
        assert.deepEqual(await store.claimRequest(key, T0 + 1, LEASE, TTL), { state: 'running' });
        await store.completeRequest(key, ok({ n: 1 }), T0 + 2, TTL);
        await events.waitFor((list) => list.length === 1);
        assert.deepEqual(events.events, [{ kind: 'request', key, outcome: ok({ n: 1 }) }]);
        events.stop();
      });

      it('sweeps expired request ids, counted with the other ids', async () => {
        const short = [randomUUID(), randomUUID(), randomUUID()];
        const long = [randomUUID(), randomUUID()];
        for (const key of short) await store.claimRequest(key, T0, LEASE, 100);
        for (const key of long) await store.claimRequest(key, T0, LEASE, 1000);
        assert.deepEqual(await store.sweep(T0 + 99), { sessions: 0, ids: 0 });
        assert.deepEqual(await store.sweep(T0 + 100), { sessions: 0, ids: 3 });
        assert.deepEqual(await store.claimRequest(long[0]!, T0 + 100, LEASE, 1000), { state: 'lost' }, 'the others are kept');
        // A finished (and a confirmed) run expires ttlMs after its completion.
        await store.completeRequest(long[0]!, ok(1), T0 + 500, 1000);
        await store.completeRequest(long[1]!, ok(2), T0 + 500, 1000);
        await store.confirmRequests([long[1]!]);
        assert.deepEqual(await store.sweep(T0 + 1499), { sessions: 0, ids: 0 });
        const topic = newTopic();
        await store.claimIds([randomUUID()], 1, T0 + 1499);
        await appendOk(store, [entry(topic, 1, { dedupKey: randomUUID(), dedupTtlMs: 1, time: T0 + 1499 })]);
        assert.deepEqual(await store.sweep(T0 + 1500), { sessions: 0, ids: 4 }, 'two request ids, a claimed id and a dedupKey');
        assert.deepEqual(await store.claimRequest(long[1]!, T0 + 1500, LEASE, TTL), { state: 'new' });
      });
    });

    describe('watching', () => {
      it('tells the appended and volatile events of a watched topic', async () => {
        const topic = newTopic();
        await store.watch(topic);
        await store.watch(topic); // Watching twice is watching once.
        const events = record(store, (event) => topicOf(event) === topic);
        await appendOk(store, [entry(topic, 1)]);
        await store.broadcast({ topic, data: 2 });
        await events.waitFor((list) => list.length === 2);
        assert.deepEqual(
          events.events.map((e) => e.kind),
          ['appended', 'volatile'],
        );
        events.stop();
      });
    });

    if (traits.severalInstances === true) describe('several instances on one backend', () => {
      it('keeps offsets dense across interleaved appends from two instances, each in its call order', async () => {
        const peer = await peerOf();
        const topic = newTopic();
        const pending = Array.from({ length: 40 }, (_, i) => appendOk(i % 2 === 0 ? store : peer, [entry(topic, i)]).then(([o]) => [i, o!.offset] as const));
        const outcomes = await Promise.all(pending);
        assert.deepEqual(
          outcomes.map(([, offset]) => offset).sort((x, y) => x - y),
          Array.from({ length: 40 }, (_, i) => i + 1),
          'dense, each offset once',
        );
        for (const parity of [0, 1]) {
          const own = outcomes.filter(([i]) => i % 2 === parity).map(([, offset]) => offset);
          assert.deepEqual(own, [...own].sort((x, y) => x - y), 'each instance in its call order');
        }
        const messages = await readAll(peer, topic);
        assert.deepEqual(messages, await readAll(store, topic), 'both read one history');
        assert.deepEqual(
          offsetsOf(messages),
          Array.from({ length: 40 }, (_, i) => i + 1),
        );
        for (const [i, offset] of outcomes) assert.equal(messages[offset - 1]?.data, i);
      });

      it('claims an id once across instances: dedupKeys, claimed ids and request ids', async () => {
        const peer = await peerOf();
        const topic = newTopic();
        const dedup = { dedupKey: randomUUID(), dedupTtlMs: 1000 };
        const [first] = await appendOk(store, [entry(topic, 'a', dedup)]);
        const [again] = await appendOk(peer, [entry(topic, 'b', { ...dedup, time: T0 + 1 })]);
        assert.deepEqual(again, { ...first!, duplicate: true });
        const [x, y] = [randomUUID(), randomUUID()];
        assert.deepEqual(await store.claimIds([x], 1000, T0), [true]);
        assert.deepEqual(await peer.claimIds([x, y], 1000, T0), [false, true]);
        assert.deepEqual(await store.claimIds([y], 1000, T0), [false]);
        const key = randomUUID();
        assert.deepEqual(await store.claimRequest(key, T0, 100, 1000), { state: 'new' });
        assert.deepEqual(await peer.claimRequest(key, T0, 100, 1000), { state: 'running' });
        assert.deepEqual(await peer.claimRequest(key, T0 + 100, 100, 1000), { state: 'lost' });
      });

      it("refuses the old holder's writes after a takeover on another instance, and tells the old holder", async () => {
        const peer = await peerOf();
        const a = session();
        const mine = (event: StoreEvent) => event.kind === 'session' && event.id === a.id;
        const [onStore, onPeer] = [record(store, mine), record(peer, mine)];
        await create(store, a);
        assert.equal(await peer.takeSession(a.id, 1, takeover(1)), 2);
        await onStore.waitFor((list) => list.length === 1);
        assert.deepEqual(onStore.events, [{ kind: 'session', id: a.id, version: 2 }]);
        assert.deepEqual(await store.saveSessions([{ id: a.id, version: 1, ledger: { lastSeq: 99, doneAbove: [] } }]), [false]);
        await store.deleteSession(a.id, 1);
        assert.deepEqual(await peer.saveSessions([{ id: a.id, version: 2, ledger: { lastSeq: 4, doneAbove: [] } }]), [true]);
        assert.equal((await store.loadSession(a.id))?.lastSeq, 4, 'the new holder wrote, the old one did not');
        // Taken back: now the peer held it, and hears it.
        assert.equal(await store.takeSession(a.id, 2, takeover(2)), 3);
        await onPeer.waitFor((list) => list.length === 1);
        assert.deepEqual(onPeer.events, [{ kind: 'session', id: a.id, version: 3 }]);
        onStore.stop();
        onPeer.stop();
      });

      it('tells an instance whose claim answered running of the outcome of the run on another', async () => {
        const peer = await peerOf();
        const key = randomUUID();
        const events = record(peer, (event) => event.kind === 'request' && event.key === key);
        assert.deepEqual(await store.claimRequest(key, T0, 100, 1000), { state: 'new' });
        assert.deepEqual(await peer.claimRequest(key, T0 + 1, 100, 1000), { state: 'running' });
        await store.completeRequest(key, { ok: true, data: 'sum' }, T0 + 2, 1000);
        await events.waitFor((list) => list.length === 1);
        assert.deepEqual(events.events, [{ kind: 'request', key, outcome: { ok: true, data: 'sum' } }]);
        assert.deepEqual(await peer.claimRequest(key, T0 + 3, 100, 1000), { state: 'done', outcome: { ok: true, data: 'sum' } });
        events.stop();
      });

      it('tells an instance the appends and broadcasts made on another, for the topics it watches', async () => {
        const peer = await peerOf();
        const [watched, other] = [newTopic('watched'), newTopic('other')];
        await peer.watch(watched);
        const onPeer = record(peer, (event) => [watched, other].includes(topicOf(event)!));
        const onStore = record(store, (event) => [watched, other].includes(topicOf(event)!));
        await appendOk(store, [entry(watched, 1), entry(other, 1)]);
        await store.broadcast({ topic: other, data: 'v-other' });
        await store.broadcast({ topic: watched, data: 'v' });
        await appendOk(store, [entry(watched, 2)]);
        await onPeer.waitFor(() => onPeer.appended(watched).length === 2);
        const { epoch } = await store.info(watched);
        const ofWatched = onPeer.events.filter((event) => topicOf(event) === watched);
        assert.deepEqual(ofWatched, [
          { kind: 'appended', topic: watched, epoch, messages: [{ topic: watched, offset: 1, data: 1, time: T0 }] },
          { kind: 'volatile', message: { topic: watched, data: 'v' } },
          { kind: 'appended', topic: watched, epoch, messages: [{ topic: watched, offset: 2, data: 2, time: T0 }] },
        ]);
        if (traits.deliversWatchedOnly === true) {
          assert.deepEqual(onPeer.events, ofWatched, 'nothing of the topic it does not watch');
          assert.deepEqual(onStore.events, [], 'an instance that watches nothing hears nothing, not even of its own appends');
          // Watching is a set: one unwatch ends two watches.
          await peer.watch(watched);
          peer.unwatch(watched);
          await appendOk(store, [entry(watched, 3)]);
          await store.broadcast({ topic: watched, data: 'after' });
          await peer.watch(other);
          await appendOk(store, [entry(other, 'marker')]);
          await onPeer.waitFor(() => onPeer.appended(other).length === 1);
          assert.deepEqual(onPeer.events.slice(3).map(topicOf), [other], 'nothing of the topic after unwatch');
        }
        onPeer.stop();
        onStore.stop();
      });

      it('tells every instance when the backend is lost and back, and fails operations meanwhile', async () => {
        const peer = await peerOf();
        assert.ok(made.setAvailable !== undefined, 'a store made for the tests of several instances can be made unavailable');
        const topic = newTopic();
        await appendOk(store, [entry(topic, 1)]);
        const health = (event: StoreEvent) => event.kind === 'health';
        const [onStore, onPeer] = [record(store, health), record(peer, health)];
        await made.setAvailable(false);
        for (const events of [onStore, onPeer]) await events.waitFor((list) => list.length === 1);
        const a = session();
        await assert.rejects(store.append([entry(topic, 2)]), unavailable);
        await assert.rejects(peer.read(topic, 0, 10), unavailable);
        await assert.rejects(peer.claimIds([randomUUID()], 100, T0), unavailable);
        await assert.rejects(store.claimRequest(randomUUID(), T0, 100, 1000), unavailable);
        await assert.rejects(peer.createSession(a), unavailable);
        await assert.rejects(store.saveSessions([{ id: a.id, version: 1 }]), unavailable);
        await made.setAvailable(true);
        for (const events of [onStore, onPeer]) {
          await events.waitFor((list) => list.length === 2);
          assert.deepEqual(events.events, [
            { kind: 'health', state: 'lost' },
            { kind: 'health', state: 'back' },
          ]);
          events.stop();
        }
        assert.deepEqual(offsetsOf(await readAll(peer, topic)), [1], 'what was stored survived, and nothing of the outage was');
        assert.deepEqual(brief((await store.append([entry(topic, 2)]))[0]), 2);
      });
    });

    describe('close', () => {
      it('rejects every call after close with STORE_UNAVAILABLE', async () => {
        const topic = newTopic();
        await appendOk(store, [entry(topic, 1)]);
        await store.close();
        await store.close(); // Closing twice is harmless.
        await assert.rejects(store.append([entry(topic, 2)]), unavailable);
        await assert.rejects(store.read(topic, 0, 10), unavailable);
        await assert.rejects(store.info(topic), unavailable);
        await assert.rejects(store.trim(topic, { maxCount: 0 }, T0), unavailable);
        await assert.rejects(store.broadcast({ topic, data: 1 }), unavailable);
        await assert.rejects(store.watch(topic), unavailable);
        await assert.rejects(store.claimIds(['id'], 100, T0), unavailable);
        await assert.rejects(store.claimRequest('r', T0, 100, 1000), unavailable);
        await assert.rejects(store.renewRequests(['r'], T0, 100), unavailable);
        await assert.rejects(store.completeRequest('r', { ok: true }, T0, 1000), unavailable);
        await assert.rejects(store.confirmRequests(['r']), unavailable);
        const { replies: _, ...state } = session();
        await assert.rejects(store.createSession(state), unavailable);
        await assert.rejects(store.takeSession(state.id, 1, takeover(1)), unavailable);
        await assert.rejects(store.saveSessions([{ id: state.id, version: 1 }]), unavailable);
        await assert.rejects(store.loadSession('s'), unavailable);
        await assert.rejects(store.deleteSession('s', 1), unavailable);
        await assert.rejects(store.sweep(T0), unavailable);
      });
    });
  });
}
