import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { CloseCode, ErrorCode, MAX_BATCH_BYTES } from '../../src/protocol/index.js';
import type { Connection, ServerOptions } from '../../src/server/index.js';
import { RawPeer } from '../support/raw-peer.js';
import { startServer, type TestServer } from '../support/servers.js';
import { waitFor } from '../support/wait.js';
import { internals } from '../support/hub-internals.js';

/**
 * Clients that do not read, over real sockets (issue 10): the server stops reading them, stops
 * catch-up at the buffer limit, and closes the ones that stay behind with 4413, and the buffer it
 * keeps for one never passes maxBufferedBytes + maxPayload + 64 KiB. The kernel's socket buffers
 * take the first few MiB whatever the server does, so every test sends well past them.
 */
const KiB = 1024;
const SOFT = 64 * KiB;
const PAYLOAD = 64 * KiB;
/** The hard bound, plus the frames the ws binding joins into one message before they reach bufferedAmount. */
const CEILING = SOFT + PAYLOAD + 64 * KiB + MAX_BATCH_BYTES;
const REPLY = 'x'.repeat(60_000);

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function serve(options: ServerOptions = {}): Promise<TestServer> {
  t = await startServer({ handlers: { big: () => REPLY }, ...options, limits: { maxBufferedBytes: SOFT, maxPayload: PAYLOAD, ...options.limits } });
  return t;
}

/** The server side of the only connection, with the largest bufferedAmount seen after each frame it wrote. */
function watchServerSide(server: TestServer): { connection: Connection; peak: () => number } {
  const [connection] = internals(server.server.hub).connections;
  assert.ok(connection !== undefined);
  const { socket } = connection;
  const send = socket.send.bind(socket);
  let peak = 0;
  socket.send = (text) => {
    send(text);
    peak = Math.max(peak, socket.bufferedAmount);
  };
  return { connection, peak: () => Math.max(peak, socket.bufferedAmount) };
}

const tcp = (peer: RawPeer) => (peer.ws as unknown as { _socket: Socket })._socket;

describe('clients that do not read', () => {
  // Guards: replies, errors and pongs were written whatever bufferedAmount said (+1.6 GB in 30 s).
  it('closes a client that sends and never reads with 4413 SLOW_CONSUMER, its buffer bounded; it resumes and loses nothing', async () => {
    const server = await serve({ limits: { slowConsumerGrace: 300 }, sweepInterval: 50 });
    const { peer, welcome } = await RawPeer.handshake(server.url);
    peer.send({ type: 'req', seq: 1, id: 'r1', method: 'big', data: null });
    await peer.next('reply');
    const side = watchServerSide(server);
    tcp(peer).pause();
    // Each resend of the processed request gets its kept 60 KB reply again: 60 MB for 70 KB sent.
    for (let i = 0; i < 1000; i++) peer.send({ type: 'req', seq: 1, id: 'r1', method: 'big', data: null });
    await waitFor(() => internals(server.server.hub).connections.size === 0 || side.peak() > CEILING, 'the slow consumer to be closed');
    assert.ok(side.peak() <= CEILING, `the server buffered ${side.peak()} bytes for it; the bound is ${CEILING}`);
    // Its own paused socket must not keep the server from reading the close handshake's answer.
    tcp(peer).resume();
    assert.equal((await peer.closedWith()).code, CloseCode.SlowConsumer);
    assert.equal(peer.frames.filter((f) => f.type === 'error').at(-1)?.code, ErrorCode.SlowConsumer);

    const back = await RawPeer.handshake(server.url, { resume: { session: welcome.session, token: welcome.token } });
    assert.equal(back.welcome.resumed, true);
    back.peer.send({ type: 'req', seq: 1, id: 'r1', method: 'big', data: null });
    const reply = await back.peer.next('reply');
    assert.deepEqual([reply.seq, reply.ok && reply.data], [1, REPLY], 'the reply was kept');
    back.peer.close();
  });

  // Guards: a client that reads again after a pause must get everything, and must not be closed for
  // what it sent meanwhile: the frames read but not handled wait for the drain.
  it('holds the input of a client that paused reading, and answers all of it once it reads again', async () => {
    const server = await serve();
    const peer = await RawPeer.greeted(server.url);
    peer.send({ type: 'req', seq: 1, id: 'r1', method: 'big', data: null });
    await peer.next('reply');
    const side = watchServerSide(server);
    tcp(peer).pause();
    for (let i = 0; i < 500; i++) peer.send({ type: 'req', seq: 1, id: 'r1', method: 'big', data: null });
    const congested = () => side.connection.congestion !== undefined;
    await waitFor(() => congested() || side.connection.isClosed() || side.peak() > CEILING, 'the connection to be congested');
    assert.ok(side.peak() <= CEILING, `the server buffered ${side.peak()} bytes for it; the bound is ${CEILING}`);
    assert.ok(congested(), 'the frames it sent wait for the drain; it is not closed for them');
    tcp(peer).resume();
    await waitFor(() => peer.frames.filter((f) => f.type === 'reply').length === 500, 'every reply');
    assert.equal(peer.closed, undefined);
    assert.ok(side.peak() <= CEILING, `the server buffered ${side.peak()} bytes for it; the bound is ${CEILING}`);
    peer.close();
  });

  // Guards: a catch-up wrote a whole 500-message store read at once (1.9 GB for four subscribers).
  it('stops catch-up at the buffer limit for a subscriber that does not read, and sends the rest once it does', async () => {
    const server = await serve();
    const count = 400;
    for (let i = 1; i <= count; i++) await server.server.publish('t', { i, pad: REPLY });
    const peer = await RawPeer.greeted(server.url);
    const side = watchServerSide(server);
    tcp(peer).pause();
    peer.send({ type: 'sub', topic: 't', from: 'start' });
    const state = () => side.connection.subscriptions.get('t')?.state;
    await waitFor(() => state() === 'blocked' || state() === 'live', 'catch-up to block or finish');
    assert.equal(state(), 'blocked', `the catch-up stopped at the buffer (peak ${side.peak()} bytes)`);
    assert.ok(side.peak() <= SOFT + 61_000 + MAX_BATCH_BYTES, `the server buffered ${side.peak()} bytes; at most one message past ${SOFT}`);
    tcp(peer).resume();
    await waitFor(() => peer.frames.filter((f) => f.type === 'msg').length >= count, 'every message');
    const offsets = peer.frames.flatMap((f) => (f.type === 'msg' ? [f.offset] : []));
    assert.deepEqual(offsets, Array.from({ length: count }, (_, i) => i + 1), 'every message once, in order');
    peer.close();
  });
});
