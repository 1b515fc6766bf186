import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryStore } from '../../src/store/memory/index.js';
import { hubHarness } from '../support/hub-harness.js';
import { internals } from '../support/hub-internals.js';

/** A MemoryStore that measures what the hub asks it to save: JSON bytes, and every saved expiresAt per session. */
class MeasuringStore extends MemoryStore {
  savedBytes = 0;
  /** Counting stops here: the point is made, and measuring gigabytes would take minutes. */
  readonly stopAt = 10 * 1024 * 1024;
  readonly expiries = new Map<string, number[]>();

  override async createSession(state: Parameters<MemoryStore['createSession']>[0]): Promise<boolean> {
    this.expiries.set(state.id, [state.expiresAt]);
    return super.createSession(state);
  }

  override async saveSessions(updates: Parameters<MemoryStore['saveSessions']>[0]): Promise<boolean[]> {
    for (const update of updates) {
      if (this.savedBytes < this.stopAt) this.savedBytes += JSON.stringify(update).length;
      if (update.expiresAt === undefined) continue;
      const list = this.expiries.get(update.id) ?? [];
      list.push(update.expiresAt);
      this.expiries.set(update.id, list);
    }
    return super.saveSessions(updates);
  }
}

describe('Session saves', () => {
  // Guards issue 10 item 5: a session keeping ~10,000 replies was saved whole (every kept reply) on
  // each ack, so 100 KB of tiny acks cost a gigabyte of writes. A save now carries what changed.
  it('costs in proportion to what an ack changed, not to the replies the session keeps', async () => {
    const store = new MeasuringStore();
    const { clock, hub, connect } = hubHarness({ store, handlers: { echo: (data) => data } });
    const peer = await connect();
    const session = peer.connection.session!;
    const KEPT = 10_000;
    for (let from = 1; from <= KEPT; from += 1000) {
      const frames = Array.from({ length: 1000 }, (_, i) => JSON.stringify({ type: 'req', seq: from + i, id: `r${from + i}`, method: 'echo', data: from + i }));
      peer.send(frames.join('\n'));
      await clock.idle();
    }
    await internals(hub).saves.saved();
    assert.equal(session.acks.ledger.replies.size, KEPT, 'every reply kept, none confirmed');
    assert.equal((await store.loadSession(session.id))?.replies.length, KEPT);

    store.savedBytes = 0;
    const ACKS = 1000;
    for (let seq = 1; seq <= ACKS; seq++) {
      peer.send({ type: 'ack', replies: [seq] });
      await clock.idle(); // one save per ack, as a client acking reply by reply causes
    }
    await internals(hub).saves.saved();
    console.log(`[session-saves] ${ACKS} acks of a session keeping ${KEPT} replies wrote ${store.savedBytes} bytes`);
    assert.ok(store.savedBytes < 1024 * 1024, `1,000 acks wrote ${store.savedBytes} bytes of session updates (limit 1 MiB)`);
    const stored = await store.loadSession(session.id);
    assert.equal(stored?.replies.length, KEPT - ACKS, 'the confirmed replies are gone from the store');
    assert.equal(stored?.replies[0]?.seq, ACKS + 1);
  });

  // Guards issue 10 item 12: a held session was stored with no expiry, so sessions of a server that
  // died never expired. It is stored with a lease, renewed while held, that never runs out meanwhile.
  it('renews the lease of a held session before it runs out, and the store never expires it while held', async () => {
    const store = new MeasuringStore();
    const TTL = 10_000;
    const { hub, clock, connect } = hubHarness({ store, sessionTtl: TTL, heartbeat: { interval: 1e9, timeout: 1e9 } });
    const peer = await connect();
    const id = peer.connection.session!.id;
    const start = clock.now();
    assert.deepEqual(store.expiries.get(id), [start + TTL], 'saved with a lease of sessionTtl');
    for (let second = 1; second <= 4 * TTL / 1000; second++) {
      clock.advance(1000);
      await clock.idle();
      const leases = store.expiries.get(id)!;
      assert.ok(leases.at(-1)! - clock.now() >= TTL / 2 - 1000, `at +${second} s the stored lease (${leases.at(-1)! - start}) has at least half of sessionTtl left, to one sweep`);
      assert.ok(await store.loadSession(id), `still stored at +${second} s`);
    }
    const leases = store.expiries.get(id)!;
    assert.ok(leases.length >= 7 && leases.length <= 9, `renewed about every sessionTtl / 2: ${leases.map((at) => at - start).join(', ')}`);
    assert.deepEqual(await store.sweep(clock.now()), { sessions: 0, ids: 0 }, 'the store sweep leaves the held session alone');

    // Once the connection is gone the session expires sessionTtl later, in the hub and in the store.
    hub.closed(peer.connection);
    await clock.idle();
    const closedAt = clock.now();
    assert.equal(store.expiries.get(id)!.at(-1), closedAt + TTL);
    clock.advance(TTL + 1000);
    await clock.idle();
    assert.equal(internals(hub).sessions.get(id) !== undefined, false);
    assert.equal(await store.loadSession(id), undefined);
  });
});
