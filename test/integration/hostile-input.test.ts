import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CloseCode, ErrorCode } from '../../src/protocol/index.js';
import { RawPeer } from '../support/raw-peer.js';
import { startServer, type TestServer } from '../support/servers.js';

/**
 * Every malformed input gets its documented error code or close code (PROTOCOL.md), and a healthy
 * neighbour on the same server keeps exchanging messages throughout.
 */
describe('hostile input', () => {
  let t: TestServer;
  let neighbour: RawPeer;
  let round = 0;

  before(async () => {
    t = await startServer({
      limits: { maxPayload: 1024, maxSubscriptions: 3 },
      topics: { 'chat:*': { mode: 'reliable' } },
      handlers: { echo: (data) => data },
    });
    neighbour = await RawPeer.greeted(t.url);
    neighbour.send({ type: 'sub', topic: 'chat:ok' });
    await neighbour.next('subscribed');
  });
  after(async () => {
    neighbour.close();
    await t.close();
  });

  /** The neighbour publishes and receives its own message: the server is healthy for it. */
  async function neighbourStillWorks(): Promise<void> {
    round++;
    neighbour.send({ type: 'pub', topic: 'chat:ok', data: round, seq: round, id: `n${round}` });
    const message = await neighbour.next('msg', (m) => m.data === round);
    assert.equal(message.topic, 'chat:ok');
    await neighbour.next('ack', (a) => a.seq >= round);
  }

  async function expectFatal(send: (peer: RawPeer) => void, code: string, closeCode: number, greet = true): Promise<void> {
    const peer = greet ? await RawPeer.greeted(t.url) : await RawPeer.connect(t.url);
    send(peer);
    if (code !== '') assert.equal((await peer.next('error')).code, code);
    const closed = await peer.closedWith();
    assert.equal(closed.code, closeCode);
    await neighbourStillWorks();
  }

  it('malformed JSON closes with 4400 MALFORMED_FRAME', () =>
    expectFatal((p) => p.send('{"type": "pub", '), ErrorCode.MalformedFrame, CloseCode.ProtocolViolation));

  it('a JSON value that is not a frame closes with 4400 MALFORMED_FRAME', () =>
    expectFatal((p) => p.send('[1,2,3]'), ErrorCode.MalformedFrame, CloseCode.ProtocolViolation));

  it('a binary frame closes with 4400 MALFORMED_FRAME', () =>
    expectFatal((p) => p.ws.send(Buffer.from([1, 2, 3])), ErrorCode.MalformedFrame, CloseCode.ProtocolViolation));

  it('a frame before hello closes with 4400 HELLO_REQUIRED', () =>
    expectFatal((p) => p.send({ type: 'sub', topic: 'chat:x' }), ErrorCode.HelloRequired, CloseCode.ProtocolViolation, false));

  it('an unknown frame before hello closes with 4400 HELLO_REQUIRED', () =>
    expectFatal((p) => p.send({ type: 'frob' }), ErrorCode.HelloRequired, CloseCode.ProtocolViolation, false));

  it('a second hello closes with 4400 DUPLICATE_HELLO', () =>
    expectFatal((p) => p.send({ type: 'hello', v: 1 }), ErrorCode.DuplicateHello, CloseCode.ProtocolViolation));

  it('a wrong protocol version closes with 4426 UNSUPPORTED_VERSION', () =>
    expectFatal((p) => p.send({ type: 'hello', v: 99 }), ErrorCode.UnsupportedVersion, CloseCode.UnsupportedVersion, false));

  it('a known frame with invalid fields closes with 4400 INVALID_FRAME', () =>
    expectFatal((p) => p.send({ type: 'pub', topic: 'chat:x', data: 1, seq: 'one', id: 'x' }), ErrorCode.InvalidFrame, CloseCode.ProtocolViolation));

  it('a frame over the WebSocket size limit closes with 1009', () =>
    expectFatal((p) => p.send({ type: 'pub', topic: 'chat:x', data: 'x'.repeat(70 * 1024) }), '', 1009));

  it('an unknown frame type gets UNKNOWN_FRAME_TYPE and the connection stays usable', async () => {
    const peer = await RawPeer.greeted(t.url);
    peer.send({ type: 'teleport', to: 'mars' });
    assert.equal((await peer.next('error')).code, ErrorCode.UnknownFrameType);
    peer.send({ type: 'req', seq: 1, id: 'r1', method: 'echo', data: 'still here' });
    assert.deepEqual(await peer.next('reply'), { type: 'reply', seq: 1, ok: true, data: 'still here' });
    peer.close();
    await neighbourStillWorks();
  });

  it('recoverable mistakes get their error codes on an open connection', async () => {
    const peer = await RawPeer.greeted(t.url);
    peer.send({ type: 'pub', topic: 'chat:x', data: 'é'.repeat(600), seq: 1, id: 'big' });
    assert.equal((await peer.next('reply', (r) => r.seq === 1)).ok, false);
    peer.send({ type: 'pub', topic: 'elsewhere', data: 1, seq: 2, id: 'u' });
    const unknown = await peer.next('reply', (r) => r.seq === 2);
    assert.equal(!unknown.ok && unknown.error.code, ErrorCode.UnknownTopic);
    peer.send({ type: 'sub', topic: '' });
    assert.equal((await peer.next('error', (e) => e.topic === '')).code, ErrorCode.InvalidTopic);
    peer.send({ type: 'req', seq: 3, id: 'm', method: 'nope', data: null });
    const method = await peer.next('reply', (r) => r.seq === 3);
    assert.equal(!method.ok && method.error.code, ErrorCode.UnknownMethod);
    for (const topic of ['chat:1', 'chat:2', 'chat:3']) {
      peer.send({ type: 'sub', topic });
      await peer.next('subscribed', (s) => s.topic === topic);
    }
    peer.send({ type: 'sub', topic: 'chat:4' });
    const tooMany = await peer.next('error', (e) => e.topic === 'chat:4');
    assert.equal(tooMany.code, ErrorCode.TooManySubscriptions);
    assert.equal(tooMany.for, 'sub');
    peer.send({ type: 'pub', topic: 'elsewhere', data: 'fire and forget' });
    const rejected = await peer.next('error', (e) => e.topic === 'elsewhere');
    assert.deepEqual([rejected.code, rejected.for], [ErrorCode.UnknownTopic, 'pub']);
    await peer.next('ack', (a) => a.seq === 3);
    peer.close();
    await neighbourStillWorks();
  });

  it('the payload limit reports PAYLOAD_TOO_LARGE with the limit in the message', async () => {
    const peer = await RawPeer.greeted(t.url);
    peer.send({ type: 'pub', topic: 'chat:x', data: 'x'.repeat(2000), seq: 1, id: 'big' });
    const reply = await peer.next('reply');
    assert.equal(!reply.ok && reply.error.code, ErrorCode.PayloadTooLarge);
    assert.match(!reply.ok ? reply.error.message : '', /1024 bytes/);
    peer.close();
  });

  it('a flood is throttled with RATE_LIMITED and nothing is dropped', async () => {
    const flood = await startServer({ limits: { messageRate: { perSecond: 200, burst: 50 } } });
    try {
      const peer = await RawPeer.greeted(flood.url);
      const count = 300;
      for (let seq = 1; seq <= count; seq++) peer.send({ type: 'pub', topic: 'flood', data: seq, seq, id: `f${seq}` });
      assert.equal((await peer.next('error')).code, ErrorCode.RateLimited);
      await peer.next('ack', (a) => a.seq === count, 10_000);
      const stored = await flood.server.hub.store.read('flood', 0, 1000);
      assert.deepEqual(stored.messages.map((m) => m.data), Array.from({ length: count }, (_, i) => i + 1));
      peer.close();
    } finally {
      await flood.close();
    }
  });

  it('a connection over the per-address limit is closed with 4429 and a retry hint', async () => {
    const limited = await startServer({ limits: { maxConnectionsPerAddress: 2 } });
    try {
      const a = await RawPeer.connect(limited.url);
      const b = await RawPeer.connect(limited.url);
      const c = await RawPeer.connect(limited.url);
      const error = await c.next('error');
      assert.equal(error.code, ErrorCode.TooManyConnections);
      assert.ok((error.retryAfter ?? 0) > 0);
      assert.equal((await c.closedWith()).code, CloseCode.TooManyConnections);
      a.close();
      b.close();
    } finally {
      await limited.close();
    }
  });
});
