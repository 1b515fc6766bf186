import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { ErrorCode } from '../../src/protocol/index.js';
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

/**
 * Guards issue 10 item 6 end to end: the store's server-wide topic cap reaches the client over a
 * real socket, as a reply to a reliable publish and as an error to a fire-and-forget one.
 */
describe('TOO_MANY_TOPICS over a real socket', () => {
  it('refuses a sixth topic on a store holding at most five, and still takes publishes to the five', async () => {
    const store = new MemoryStore({ maxTopics: 5 });
    t = await startServer({ store });
    const peer = await RawPeer.greeted(t.url);
    peers.push(peer);
    for (let i = 1; i <= 6; i++) peer.send({ type: 'pub', topic: `chat:${i}`, data: i, seq: i, id: `m${i}` });
    const reply = await peer.next('reply', (frame) => frame.seq === 6);
    assert.deepEqual(reply.ok ? undefined : reply.error.code, ErrorCode.TooManyTopics);
    await peer.next('ack', (frame) => frame.seq >= 6);
    assert.equal(peer.frames.filter((frame) => frame.type === 'reply').length, 0, 'the first five were acknowledged without a reply');

    peer.send({ type: 'pub', topic: 'chat:7', data: 7 });
    const error = await peer.next('error');
    assert.deepEqual([error.code, error.topic, error.for], [ErrorCode.TooManyTopics, 'chat:7', 'pub']);

    peer.send({ type: 'pub', topic: 'chat:1', data: 8, seq: 7, id: 'm7' });
    await peer.next('ack', (frame) => frame.seq >= 7);
    assert.equal((await store.info('chat:1')).head, 2, 'an existing topic still takes publishes');
    assert.equal((await store.info('chat:6')).head, 0);
    assert.equal(peer.closed, undefined, 'the connection stays open');
  });
});
