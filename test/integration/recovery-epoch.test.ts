import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { MemoryStore } from '../../src/store/memory/index.js';
import { RawPeer } from '../support/raw-peer.js';
import { startServer, type TestServer } from '../support/servers.js';

let t: TestServer | undefined;
const peers: RawPeer[] = [];
afterEach(async () => {
  for (const peer of peers.splice(0)) peer.close();
  await t?.close();
  t = undefined;
});

async function setup(): Promise<{ store: MemoryStore; peer: RawPeer }> {
  const store = new MemoryStore();
  t = await startServer({ store });
  const peer = await RawPeer.greeted(t.url);
  peers.push(peer);
  return { store, peer };
}

/** Forgets `topic` (it retains nothing after the trim): its next message starts a new epoch. */
async function forget(store: MemoryStore, topic: string): Promise<void> {
  await store.append([{ topic, data: 'x', time: 0 }]);
  const result = await store.trim(topic, { maxCount: 0 }, 0);
  assert.equal(result.oldest, undefined, `${topic} retains nothing`);
}

/**
 * The recovery rule for an empty position (PROTOCOL.md, Recovery): offset 0 missed nothing, so it
 * is recoverable in any epoch. A topic forgotten by the store (every message aged out) starts a new
 * epoch when it is created again.
 */
describe('Recovery of an empty position across epochs', () => {
  // Guards the recovery rule: a subscriber that subscribed before its topic existed was told
  // `recovered: false` when the topic was created in an epoch it did not know.
  it('a live subscription that received nothing adopts the new epoch, recovered', async () => {
    const { store, peer } = await setup();
    peer.send({ type: 'sub', topic: 'room', from: 'now' });
    const first = await peer.next('subscribed');
    assert.deepEqual([first.offset, first.recovered], [0, true]);
    await forget(store, 'other'); // new topics now start in another epoch
    await t!.server.publish('room', 'hello');
    const again = await peer.next('subscribed');
    const { epoch } = await store.info('room');
    assert.notEqual(epoch, first.epoch, 'room was created in an epoch the subscriber did not know');
    assert.deepEqual(
      { epoch: again.epoch, offset: again.offset, recovering: again.recovering, recovered: again.recovered },
      { epoch, offset: 0, recovering: true, recovered: true },
    );
    const message = await peer.next('msg');
    assert.deepEqual([message.offset, message.data], [1, 'hello']);
    assert.equal(peer.frames.length, 0, 'nothing else');
  });

  it('a subscription that had received messages of the forgotten history is told recovered: false', async () => {
    const { store, peer } = await setup();
    await t!.server.publish('room', 'one');
    await t!.server.publish('room', 'two');
    peer.send({ type: 'sub', topic: 'room', from: 'start' });
    const first = await peer.next('subscribed');
    assert.deepEqual([(await peer.next('msg')).offset, (await peer.next('msg')).offset], [1, 2]);
    peer.send({ type: 'ack', offsets: { room: 2 } });
    await store.trim('room', { maxCount: 0 }, Date.now()); // forgotten
    await t!.server.publish('room', 'three');
    const again = await peer.next('subscribed');
    assert.notEqual(again.epoch, first.epoch);
    assert.deepEqual([again.offset, again.recovering, again.recovered], [0, true, false], 'its history is gone: honest');
    const message = await peer.next('msg');
    assert.deepEqual([message.offset, message.data], [1, 'three']);
  });

  it('a sub with offset 0 of another epoch recovers from the start of the current history', async () => {
    const { store, peer } = await setup();
    peer.send({ type: 'sub', topic: 'room', from: 'now' });
    const before = await peer.next('subscribed');
    peer.send({ type: 'unsub', topic: 'room' });
    await peer.next('unsubscribed');
    await forget(store, 'other');
    await t!.server.publish('room', 'one');
    await t!.server.publish('room', 'two');
    peer.send({ type: 'sub', topic: 'room', epoch: before.epoch, offset: 0 });
    const resumed = await peer.next('subscribed');
    assert.deepEqual([resumed.epoch, resumed.offset, resumed.recovered], [(await store.info('room')).epoch, 0, true]);
    assert.deepEqual([(await peer.next('msg')).data, (await peer.next('msg')).data], ['one', 'two']);

    // offset >= first - 1 still applies: with the first message gone, offset 0 missed it.
    await store.trim('room', { maxCount: 1 }, Date.now());
    peer.send({ type: 'sub', topic: 'room', epoch: before.epoch, offset: 0 });
    const lossy = await peer.next('subscribed');
    assert.deepEqual([lossy.offset, lossy.recovered], [1, false]);
  });
});
