import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connectionStatus, type ConnectionStatus } from '../../src/client/index.js';
import { tick } from './fake-server.js';
import { accept, reconnect, start } from './harness.js';

describe('connectionStatus', () => {
  it('calls a new listener at once, then on every change, with a new frozen object each time', async () => {
    const h = await start({ reconnect: { initialDelay: 2000 } });
    const status = connectionStatus(h.client);
    const seen: ConnectionStatus[] = [];
    const stop = status.subscribe((value) => seen.push(value));
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.state, 'connecting');
    assert.equal(seen[0]!.everOpen, false);
    accept(h, { resumed: false });
    assert.equal(status.getSnapshot().state, 'open');
    assert.equal(status.getSnapshot().resumed, false);
    assert.equal(status.getSnapshot().everOpen, true);
    assert.equal(status.getSnapshot(), status.getSnapshot(), 'the same object until something changes');
    assert.ok(Object.isFrozen(status.getSnapshot()));

    h.socket.drop(4000);
    const waiting = status.getSnapshot();
    assert.equal(waiting.state, 'reconnecting');
    assert.equal(waiting.attempt, 1);
    assert.equal(waiting.retryAt, h.clock.now() + 1000, 'random 0.5 of the 2000 ms bound');
    assert.deepEqual(waiting.lastClose, { code: 4000, reason: '' });
    h.clock.advance(1000);
    await tick();
    assert.equal(status.getSnapshot().state, 'connecting');
    assert.equal(status.getSnapshot().attempt, 1);
    assert.equal(status.getSnapshot().retryAt, undefined);
    accept(h, { resumed: true });
    assert.deepEqual(
      { ...status.getSnapshot() },
      { state: 'open', attempt: undefined, retryAt: undefined, lastClose: undefined, resumed: true, recovered: undefined, everOpen: true, error: undefined },
    );
    stop();
    const count = seen.length;
    h.client.dropConnection();
    assert.equal(seen.length, count, 'an unsubscribed listener hears nothing more');
  });

  it('sums up the recovery of watched subscriptions since the last open', async () => {
    const h = await start();
    const chat = h.client.subscribe('chat', () => {});
    const news = h.client.subscribe('news', () => {});
    const status = connectionStatus(h.client, { subscriptions: [chat, news] });
    accept(h);
    const subscribed = (topic: string, recovered: boolean) =>
      h.socket.push({ type: 'subscribed', topic, mode: 'reliable', epoch: 'e', offset: 0, recovering: true, recovered });
    subscribed('chat', true);
    await tick();
    assert.equal(status.getSnapshot().recovered, undefined, 'news has not answered yet');
    subscribed('news', true);
    await tick();
    assert.equal(status.getSnapshot().recovered, true);

    await reconnect(h);
    accept(h, { resumed: true });
    assert.equal(status.getSnapshot().recovered, undefined, 'a new open asks again');
    subscribed('chat', false);
    await tick();
    assert.equal(status.getSnapshot().recovered, false, 'one gap is enough to say so');
  });

  it('keeps the final error of a closed client', async () => {
    const h = await start();
    const status = connectionStatus(h.client);
    assert.ok(Object.isFrozen(status.getSnapshot()), 'the first snapshot too');
    accept(h);
    h.socket.drop(4401, 'bad token');
    assert.equal(status.getSnapshot().state, 'closed');
    assert.equal(status.getSnapshot().error?.code, 'UNAUTHENTICATED');
  });

  it('stop() ends everything: no listener hears a change, the snapshot stays', async () => {
    const h = await start();
    const status = connectionStatus(h.client);
    let calls = 0;
    status.subscribe(() => calls++);
    accept(h);
    const before = calls;
    const last = status.getSnapshot();
    status.stop();
    h.client.dropConnection();
    assert.equal(h.client.state, 'reconnecting');
    assert.equal(calls, before);
    assert.equal(status.getSnapshot(), last);
  });
});
