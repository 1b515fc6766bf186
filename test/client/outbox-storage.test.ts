import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode, type OutboxStorage, type StoredPublish } from '../../src/client/index.js';
import { LOAD_TIMEOUT_MS, OutboxPersistence } from '../../src/client/outbox-storage.js';
import type { PubFrame } from '../../src/protocol/frames.js';
import { FakeClock } from '../support/fake-clock.js';
import { tick } from './fake-server.js';
import { accept, settle, start, startOpen, type Harness } from './harness.js';

/** An OutboxStorage in memory that records every write, like IndexedDB would keep rows. */
class MemoryOutboxStorage implements OutboxStorage {
  rows = new Map<string, StoredPublish>();
  writes: Array<{ put: string[]; remove: string[] }> = [];
  loads = 0;
  failLoad = false;
  failWrite = false;
  /** Holds load() until release() is called. */
  private gate: Promise<void> | undefined;
  private open: (() => void) | undefined;

  hold(): void {
    this.gate = new Promise((resolve) => (this.open = resolve));
  }
  release(): void {
    this.open?.();
  }

  async load(): Promise<StoredPublish[]> {
    this.loads++;
    await this.gate;
    if (this.failLoad) throw new Error('disk on fire');
    return [...this.rows.values()].map((row) => structuredClone(row));
  }

  async write({ put, remove }: { put: StoredPublish[]; remove: string[] }): Promise<void> {
    if (this.failWrite) throw new Error('quota exceeded');
    this.writes.push({ put: put.map((p) => p.id), remove });
    for (const row of put) this.rows.set(row.id, structuredClone(row));
    for (const id of remove) this.rows.delete(id);
  }
}

const pubs = (h: Harness) => h.socket.sent.filter((frame): frame is PubFrame => frame.type === 'pub');

/** A started client whose storage finished loading. */
async function openWith(storage: OutboxStorage, clock?: FakeClock): Promise<Harness> {
  const h = await startOpen({ outboxStorage: storage, ...(clock === undefined ? {} : { clock }) });
  await tick();
  await tick();
  return h;
}

describe('HoldfastClient: outbox storage (publishes survive a reload)', () => {
  it('keeps a publish until the server acknowledges it, then forgets it', async () => {
    const storage = new MemoryOutboxStorage();
    const h = await openWith(storage);
    void h.client.publish('chat', { text: 'a' });
    void h.client.publish('prices', 3, { key: 'ACME' });
    await h.client.outboxStored();
    assert.deepEqual(
      [...storage.rows.values()].map(({ topic, data, key }) => ({ topic, data, key })),
      [
        { topic: 'chat', data: { text: 'a' }, key: undefined },
        { topic: 'prices', data: 3, key: 'ACME' },
      ],
    );
    assert.deepEqual([...storage.rows.keys()], pubs(h).map((frame) => frame.id), 'stored under the ids sent');
    assert.equal(storage.writes.length, 1, 'one write for everything published in one turn');
    h.socket.push({ type: 'ack', seq: 2 });
    await tick();
    await h.client.outboxStored();
    assert.equal(storage.rows.size, 0);
  });

  it('does not store requests or fire-and-forget publishes', async () => {
    const storage = new MemoryOutboxStorage();
    const h = await openWith(storage);
    void h.client.request('add', [1, 2]).catch(() => {});
    void h.client.publish('typing', 'x', { reliable: false });
    await h.client.outboxStored();
    assert.equal(storage.rows.size, 0);
    assert.equal(storage.writes.length, 0);
  });

  it('a new client with the same storage sends what the old one left, same ids, before its own publishes', async () => {
    const storage = new MemoryOutboxStorage();
    const old = await openWith(storage);
    void old.client.publish('chat', 1);
    void old.client.publish('chat', 2);
    await old.client.outboxStored();
    const oldIds = pubs(old).map((frame) => frame.id);
    // The page reloads: the old client is gone without close(), a new one starts with the storage.
    storage.hold();
    const fresh = await start({ outboxStorage: storage });
    const mine = settle(fresh.client.publish('chat', 3));
    accept(fresh, { resumed: false });
    await tick();
    assert.deepEqual(pubs(fresh), [], 'nothing of the outbox goes out before the stored publishes are back');
    storage.release();
    await tick();
    await tick();
    const sent = pubs(fresh);
    assert.deepEqual(sent.map((frame) => frame.data), [1, 2, 3]);
    assert.deepEqual(sent.map((frame) => frame.seq), [1, 2, 3]);
    assert.deepEqual(sent.slice(0, 2).map((frame) => frame.id), oldIds, 'the server recognises them if they had arrived');
    fresh.socket.push({ type: 'ack', seq: 3 });
    await tick();
    assert.equal(mine.done, true);
    await fresh.client.outboxStored();
    assert.equal(storage.rows.size, 0, 'restored and new publishes are forgotten once acknowledged');
  });

  it('a client that connects after the storage loaded sends the restored publishes on its first welcome', async () => {
    const storage = new MemoryOutboxStorage();
    storage.rows.set('a', { id: 'a', topic: 'chat', data: 'left over', time: 1_000_000 });
    const h = await start({ outboxStorage: storage }, false);
    await tick();
    h.client.connect();
    await tick();
    accept(h);
    await tick();
    assert.deepEqual(pubs(h).map((frame) => [frame.id, frame.data]), [['a', 'left over']]);
  });

  it('drops stored publishes older than outboxMaxAge and says so with OUTBOX_EXPIRED', async () => {
    const clock = new FakeClock(1_000_000);
    const storage = new MemoryOutboxStorage();
    storage.rows.set('old', { id: 'old', topic: 'chat', data: 'old', time: 1_000_000 - 600_001 });
    storage.rows.set('new', { id: 'new', topic: 'chat', data: 'new', time: 1_000_000 - 600_000 });
    const h = await openWith(storage, clock);
    await tick();
    assert.deepEqual(pubs(h).map((frame) => frame.id), ['new']);
    assert.equal(h.errors.at(-1)?.code, ErrorCode.OutboxExpired);
    await h.client.outboxStored();
    assert.deepEqual([...storage.rows.keys()], ['new'], 'the expired one is forgotten');
  });

  it('reports a storage that fails to load or write, and keeps publishing in memory', async () => {
    const storage = new MemoryOutboxStorage();
    storage.failLoad = true;
    storage.failWrite = true;
    const h = await openWith(storage);
    assert.equal(h.errors.at(-1)?.code, ErrorCode.OutboxStorageFailed);
    const sent = settle(h.client.publish('chat', 'still goes'));
    await h.client.outboxStored();
    assert.equal(h.errors.at(-1)?.code, ErrorCode.OutboxStorageFailed);
    assert.match(h.errors.at(-1)!.message, /write failed: quota exceeded/);
    assert.deepEqual(pubs(h).map((frame) => frame.data), ['still goes']);
    h.socket.push({ type: 'ack', seq: 1 });
    await tick();
    assert.equal(sent.done, true);
  });

  it('a storage that answers late holds the outbox back for LOAD_TIMEOUT_MS at most; its publishes follow when they come', async () => {
    const storage = new MemoryOutboxStorage();
    storage.rows.set('old', { id: 'old', topic: 'chat', data: 'from the last page', time: 1_000_000 });
    storage.hold(); // an IndexedDB blocked by another tab's upgrade
    const h = await startOpen({ outboxStorage: storage });
    const sent = settle(h.client.publish('chat', 'waits'));
    await tick();
    assert.deepEqual(pubs(h), []);
    h.clock.advance(LOAD_TIMEOUT_MS - 1);
    await tick();
    assert.deepEqual(pubs(h), [], 'still waiting for the stored ones, which go first');
    h.clock.advance(1);
    await tick();
    await tick();
    assert.deepEqual(pubs(h).map((frame) => frame.data), ['waits']);
    assert.equal(h.errors.at(-1)?.code, ErrorCode.OutboxStorageFailed);
    assert.match(h.errors.at(-1)!.message, /no answer within 5000 ms/);
    await h.client.outboxStored(); // writes no longer wait for the load
    assert.ok(storage.rows.has(pubs(h)[0]!.id!), 'this page’s publish is stored');

    storage.release(); // the late answer: its publish joins the outbox, this page's own is not doubled
    await tick();
    await tick();
    assert.deepEqual(pubs(h).map((frame) => [frame.data, frame.seq]), [['waits', 1], ['from the last page', 2]]);
    h.socket.push({ type: 'ack', seq: 2 });
    await tick();
    assert.equal(sent.done, true);
    await h.client.outboxStored();
    assert.equal(storage.rows.size, 0);
  });

  it('a storage whose load throws instead of rejecting is a failed load, not a stuck outbox', async () => {
    const storage: OutboxStorage = {
      load: () => {
        throw new Error('not a promise');
      },
      write: async () => {},
    };
    const h = await openWith(storage);
    assert.equal(h.errors.at(-1)?.code, ErrorCode.OutboxStorageFailed);
    void h.client.publish('chat', 'goes');
    await tick();
    assert.deepEqual(pubs(h).map((frame) => frame.data), ['goes']);
  });

  it('forgets a publish the server refused, and reports the refusal of a restored one with the publish', async () => {
    const storage = new MemoryOutboxStorage();
    storage.rows.set('r', { id: 'r', topic: 'secret', data: 1, time: 1_000_000 });
    const h = await openWith(storage);
    h.socket.push({ type: 'reply', seq: 1, ok: false, error: { code: 'STORE_UNAVAILABLE', message: 'try again' } });
    await tick();
    const error = h.errors.at(-1)!;
    assert.equal(error.code, 'STORE_UNAVAILABLE');
    assert.match(error.message, /"secret" restored from outboxStorage was refused: try again/);
    assert.deepEqual(error.cause, { id: 'r', topic: 'secret', data: 1, time: 1_000_000 }, 'the application can publish it again');
    await h.client.outboxStored();
    assert.equal(storage.rows.size, 0);
  });

  it('a row dated further in the future than outboxMaxAge (the clock went back) is dropped too', async () => {
    const storage = new MemoryOutboxStorage();
    storage.rows.set('soon', { id: 'soon', topic: 'chat', data: 'a step back', time: 1_000_000 + 50 });
    storage.rows.set('far', { id: 'far', topic: 'chat', data: 'years ahead', time: 1e15 });
    const h = await openWith(storage);
    assert.deepEqual(pubs(h).map((frame) => frame.id), ['soon']);
    assert.equal(h.errors.at(-1)?.code, ErrorCode.OutboxExpired);
  });

  it('a final close other than close() forgets the stored publishes whose callers it rejected, not restored ones', async () => {
    const storage = new MemoryOutboxStorage();
    storage.rows.set('r', { id: 'r', topic: 'chat', data: 'restored', time: 1_000_000 });
    const h = await openWith(storage);
    const mine = settle(h.client.publish('chat', 'new'));
    await h.client.outboxStored();
    assert.equal(storage.rows.size, 2);
    h.socket.drop(4401, 'token revoked');
    await tick();
    assert.equal((mine.error as { code?: string }).code, 'UNAUTHENTICATED');
    await h.client.outboxStored();
    assert.deepEqual([...storage.rows.keys()], ['r'], 'the caller of "new" was told it failed and may publish it again; nobody was told of "r"');
    assert.ok(!h.errors.some((error) => /was refused/.test(error.message)), 'a final close is not a refusal');
  });

  it('close() rejects the callers but keeps the stored publishes for the next client', async () => {
    const storage = new MemoryOutboxStorage();
    const h = await openWith(storage);
    const pending = settle(h.client.publish('chat', 'unload'));
    await h.client.outboxStored();
    h.client.close();
    await tick();
    assert.equal((pending.error as { code?: string }).code, ErrorCode.ClientClosed);
    await h.client.outboxStored();
    assert.equal(storage.rows.size, 1, 'a page closing its client on unload still sends it after the reload');
  });
});

describe('OutboxPersistence', () => {
  it('writes nothing for a publish confirmed in the turn it was made', async () => {
    const storage = new MemoryOutboxStorage();
    const persistence = new OutboxPersistence(storage, () => assert.fail());
    persistence.put({ id: 'x', topic: 't', data: 1, time: 0 });
    persistence.remove('x');
    await persistence.flushed();
    assert.deepEqual(storage.writes, []);
  });

  it('never lets a removal overtake the write of its put', async () => {
    const order: string[] = [];
    let finishFirst!: () => void;
    const storage: OutboxStorage = {
      load: async () => [],
      write: async ({ put, remove }) => {
        order.push(`start ${put.map((p) => `+${p.id}`).concat(remove.map((id) => `-${id}`)).join(' ')}`);
        if (put.length > 0) await new Promise<void>((resolve) => (finishFirst = resolve));
        order.push('end');
      },
    };
    const persistence = new OutboxPersistence(storage, () => assert.fail());
    persistence.put({ id: 'x', topic: 't', data: 1, time: 0 });
    await tick();
    persistence.remove('x');
    await tick();
    assert.deepEqual(order, ['start +x'], 'the removal waits for the put to be written');
    finishFirst();
    await persistence.flushed();
    assert.deepEqual(order, ['start +x', 'end', 'start -x', 'end']);
  });
});
