import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExpiryQueue } from '../../src/server/expiry-queue.js';
import type { Session } from '../../src/server/session.js';
import { hubHarness } from '../support/hub-harness.js';
import { internals } from '../support/hub-internals.js';

/**
 * The sweeper runs every second. Its session expiry and its retries of blocked subscriptions visited
 * every session and every subscription in memory each time (found in review): up to 100,000
 * sessions and a hundred subscriptions each. Now they visit what is due.
 */
describe('sweep cost', () => {
  it('expires released sessions without walking the sessions in memory', async () => {
    const { hub, clock, connect } = hubHarness({ sessionTtl: 60_000 });
    const held = await connect();
    const gone = await connect();
    const resumedLater = await connect();
    const ids = [held, gone, resumedLater].map((peer) => peer.connection.session!.id);
    let walks = 0;
    const sessions = (internals(hub).sessions as unknown as { byId: Map<string, Session> }).byId;
    const iterate = Map.prototype[Symbol.iterator];
    sessions[Symbol.iterator] = function () {
      walks++;
      return iterate.call(this) as MapIterator<[string, Session]>;
    };
    hub.closed(gone.connection);
    hub.closed(resumedLater.connection);
    resumedLater.connection.session!.connection = held.connection; // as a resume would (a stale entry)
    resumedLater.connection.session!.expiresAt = null;
    for (let i = 0; i < 61; i++) {
      clock.advance(1000);
      await clock.idle();
    }
    assert.equal(walks, 0, 'no sweep walked the sessions');
    assert.deepEqual(ids.map((id) => internals(hub).sessions.get(id) !== undefined), [true, false, true]);
  });

  it('retries blocked subscriptions without walking every subscription', async () => {
    const { hub, clock, connect } = hubHarness();
    const peer = await connect();
    for (let i = 0; i < 50; i++) peer.send({ type: 'sub', topic: `t${i}`, from: 'now' });
    await clock.idle();
    const byTopic = (internals(hub).delivery as unknown as { byTopic: Map<string, Set<unknown>> }).byTopic;
    let walks = 0;
    const values = Map.prototype.values;
    byTopic.values = function () {
      walks++;
      return values.call(this) as MapIterator<Set<unknown>>;
    };
    for (let i = 0; i < 10; i++) {
      clock.advance(1000);
      await clock.idle();
    }
    assert.equal(walks, 0, 'no sweep walked the subscriptions');
  });

  it('takes due sessions in release order and skips those resumed or released again since', () => {
    const queue = new ExpiryQueue();
    const session = (expiresAt: number | null) => ({ connection: null, expiresAt }) as unknown as Session;
    const a = session(100);
    const b = session(200);
    const c = session(300);
    queue.add(a, 100);
    queue.add(b, 200);
    queue.add(c, 300);
    // Resumed, then released again later (release order is expiry order): its first entry is stale.
    (b as { expiresAt: number | null }).expiresAt = 350;
    queue.add(b, 350);
    assert.deepEqual(queue.takeDue(99), []);
    assert.deepEqual(queue.takeDue(260), [a]);
    assert.deepEqual(queue.takeDue(1000), [c, b]);
    assert.equal(queue.size, 0);
  });
});
