import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { HoldfastClient, type ClientOptions, type WebSocketConstructor } from '../../src/client/index.js';
import type { ClientFrame, ServerFrame } from '../../src/protocol/frames.js';
import { welcomeFrame } from './fake-server.js';

// Type-level: both the DOM WebSocket and `ws` fit the injectable constructor.
const fromWs: WebSocketConstructor = WebSocket;
const fromDom: ClientOptions['WebSocket'] = (globalThis as unknown as { WebSocket: typeof globalThis.WebSocket }).WebSocket;
void fromWs;
void fromDom;

/**
 * A minimal scripted server on loopback: enough protocol to show the client works over a real
 * `ws` socket (text frames, close codes, terminate on a dead link). The real server is tested elsewhere.
 */
describe('HoldfastClient over a real ws socket', () => {
  let server: WebSocketServer;
  let url: string;
  const received: ClientFrame[] = [];

  before(async () => {
    server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
    server.on('connection', (socket) => {
      const send = (frame: ServerFrame) => socket.send(JSON.stringify(frame));
      socket.on('message', (data, isBinary) => {
        assert.equal(isBinary, false);
        // A message may hold several frames, one per line (PROTOCOL.md, Transport).
        for (const line of String(data).split('\n')) onFrame(JSON.parse(line) as ClientFrame);
      });
      const onFrame = (frame: ClientFrame): void => {
        received.push(frame);
        if (frame.type === 'hello') {
          if (frame.auth === 'bad') {
            send({ type: 'error', code: 'UNAUTHENTICATED', message: 'who are you' });
            socket.close(4401, 'unauthenticated');
            return;
          }
          send({ ...welcomeFrame(), resumed: frame.resume !== undefined });
        }
        if (frame.type === 'req') send({ type: 'reply', seq: frame.seq, ok: true, data: (frame.data as number[]).reduce((a, b) => a + b, 0) });
        if (frame.type === 'req' || frame.type === 'pub') send({ type: 'ack', seq: frame.seq ?? 0 });
        if (frame.type === 'sub') {
          send({ type: 'subscribed', topic: frame.topic, mode: 'reliable', epoch: 'e1', offset: 0, recovering: false, recovered: true });
          send({ type: 'msg', topic: frame.topic, offset: 1, data: 'hello' });
        }
      };
    });
  });

  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('connects, publishes, requests and receives', async () => {
    const client = new HoldfastClient({ url, WebSocket, auth: 'good' });
    const message = new Promise((resolve) => client.subscribe('chat', (data) => resolve(data)));
    await client.publish('chat', { text: 'hi' });
    assert.equal(await client.request('add', [1, 2, 3]), 6);
    assert.equal(await message, 'hello');
    assert.equal(client.state, 'open');
    client.close();
    assert.equal(client.state, 'closed');
    assert.ok(received.some((f) => f.type === 'pub' && f.seq === 1));
  });

  it('closes for good on 4401 with the server error code', async () => {
    const client = new HoldfastClient({ url, WebSocket, auth: 'bad' });
    const closed = new Promise<{ code?: number; error?: { code: string } }>((resolve) =>
      client.on('state', (change) => change.newState === 'closed' && resolve(change)),
    );
    const pending = client.publish('chat', 1);
    const change = await closed;
    assert.equal(change.code, 4401);
    assert.equal(change.error?.code, 'UNAUTHENTICATED');
    await assert.rejects(pending, { code: 'UNAUTHENTICATED' });
  });

  it('close() while the socket is still connecting does not crash the process', async () => {
    const client = new HoldfastClient({ url, WebSocket });
    await new Promise((resolve) => setImmediate(resolve)); // socket created, handshake under way
    client.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(client.state, 'closed');
  });
});
