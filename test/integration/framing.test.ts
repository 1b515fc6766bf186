import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CloseCode, ErrorCode } from '../../src/protocol/index.js';
import { RawPeer } from '../support/raw-peer.js';
import { startServer, type TestServer } from '../support/servers.js';

const lines = (...frames: object[]): string => frames.map((frame) => JSON.stringify(frame)).join('\n');

/** Several frames per WebSocket message, one per line (PROTOCOL.md, Transport), over real sockets. */
describe('framing: several frames per message', () => {
  let t: TestServer;

  before(async () => {
    t = await startServer({ limits: { maxPayload: 1024 }, topics: { 'chat:*': { mode: 'reliable' } } });
  });
  after(() => t.close());

  it('handles every frame of a message in order, like the same frames sent one by one', async () => {
    const peer = await RawPeer.connect(t.url);
    peer.send(lines({ type: 'hello', v: 1 }, { type: 'sub', topic: 'chat:a' }));
    await peer.next('welcome');
    await peer.next('subscribed');
    peer.send(lines(...[1, 2, 3].map((n) => ({ type: 'pub', topic: 'chat:a', data: n, seq: n, id: `a${n}` }))));
    const received = [await peer.next('msg'), await peer.next('msg'), await peer.next('msg')];
    assert.deepEqual(received.map((m) => [m.offset, m.data]), [[1, 1], [2, 2], [3, 3]]);
    await peer.next('ack', (a) => a.seq === 3);
    peer.close();
  });

  it('joins the frames it writes to one connection in one tick', async () => {
    const peer = await RawPeer.greeted(t.url);
    peer.send({ type: 'sub', topic: 'chat:b' });
    await peer.next('subscribed');
    const before = peer.messages.length;
    peer.send(lines(...[1, 2, 3, 4, 5].map((n) => ({ type: 'pub', topic: 'chat:b', data: n, seq: n, id: `b${n}` }))));
    for (let n = 1; n <= 5; n++) await peer.next('msg', (m) => m.data === n);
    await peer.next('ack', (a) => a.seq === 5);
    const messages = peer.messages.slice(before);
    const frames = messages.reduce((sum, message) => sum + message.split('\n').length, 0);
    assert.ok(frames >= 6, `${frames} frames`);
    assert.ok(messages.length < frames, `${frames} frames in ${messages.length} messages`);
    peer.close();
  });

  it('a malformed line closes that connection after the frames before it; the rest of the message is not read', async () => {
    const neighbour = await RawPeer.greeted(t.url);
    neighbour.send({ type: 'sub', topic: 'chat:c' });
    await neighbour.next('subscribed');
    const peer = await RawPeer.greeted(t.url);
    peer.send(
      [
        JSON.stringify({ type: 'pub', topic: 'chat:c', data: 'before', seq: 1, id: 'c1' }),
        '{"type": "pub", ',
        JSON.stringify({ type: 'pub', topic: 'chat:c', data: 'after', seq: 2, id: 'c2' }),
      ].join('\n'),
    );
    assert.equal((await peer.next('error')).code, ErrorCode.MalformedFrame);
    assert.equal((await peer.closedWith()).code, CloseCode.ProtocolViolation);
    assert.equal((await neighbour.next('msg')).data, 'before');
    // The neighbour's own traffic still flows, and 'after' was never stored.
    neighbour.send({ type: 'pub', topic: 'chat:c', data: 'mine', seq: 1, id: 'n1' });
    assert.equal((await neighbour.next('msg')).data, 'mine');
    await neighbour.next('ack', (a) => a.seq === 1);
    neighbour.close();
  });

  it('an empty line is a malformed frame', async () => {
    const peer = await RawPeer.greeted(t.url);
    peer.send(`${JSON.stringify({ type: 'ping' })}\n`);
    await peer.next('pong');
    assert.equal((await peer.next('error')).code, ErrorCode.MalformedFrame);
    assert.equal((await peer.closedWith()).code, CloseCode.ProtocolViolation);
  });

  it('applies maxPayload to each frame of a message, not to the message', async () => {
    const peer = await RawPeer.greeted(t.url);
    const data = 'x'.repeat(900); // under maxPayload (1024) alone; five of them are not
    peer.send(lines(...[1, 2, 3, 4, 5].map((n) => ({ type: 'pub', topic: 'chat:d', data, seq: n, id: `d${n}` }))));
    await peer.next('ack', (a) => a.seq === 5);
    assert.deepEqual(peer.frames.filter((f) => f.type === 'reply' || f.type === 'error'), []);
    peer.close();
  });
});
