import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { FaultProxy } from '../../scripts/chaos/fault-proxy.js';
import { sleep, waitFor } from '../support/wait.js';

/** An echo server that also records when each of its connections closed. */
async function echoServer(): Promise<{ server: Server; port: number; closed: () => number }> {
  let closed = 0;
  const server = createServer((socket) => {
    socket.on('data', (chunk) => socket.write(chunk));
    socket.on('close', () => closed++);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port, closed: () => closed };
}

async function dial(port: number): Promise<{ socket: Socket; received: () => string; closed: () => boolean }> {
  const socket = connect(port, '127.0.0.1');
  let text = '';
  let closed = false;
  socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  socket.on('close', () => (closed = true));
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return { socket, received: () => text, closed: () => closed };
}

describe('the chaos fault proxy', () => {
  const cleanup: Array<() => unknown> = [];
  after(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  it('forwards, and a cut resets both sides', async () => {
    const echo = await echoServer();
    cleanup.push(() => echo.server.close());
    const proxy = await FaultProxy.start(echo.port);
    cleanup.push(() => proxy.close());
    const client = await dial(proxy.port);
    client.socket.write('hello');
    await waitFor(() => client.received() === 'hello', 'the echo');
    assert.equal(proxy.cut(), 1);
    await waitFor(() => client.closed() && echo.closed() === 1, 'both sides to close');
  });

  it('holds bytes and closes during a half-open spell, and lets them through when it ends', async () => {
    const echo = await echoServer();
    cleanup.push(() => echo.server.close());
    const proxy = await FaultProxy.start(echo.port);
    cleanup.push(() => proxy.close());
    const kept = await dial(proxy.port);
    const dropped = await dial(proxy.port);
    proxy.halfOpen(300);
    kept.socket.write('held');
    dropped.socket.destroy(); // the client gives up on its side: the server must not hear of it yet
    const late = await dial(proxy.port); // a connection made during the spell is held too
    late.socket.write('late');
    await sleep(200);
    assert.equal(kept.received(), '');
    assert.equal(late.received(), '');
    assert.equal(echo.closed(), 0);
    await waitFor(() => kept.received() === 'held' && late.received() === 'late', 'the held bytes after the spell');
    await waitFor(() => echo.closed() === 1, 'the close held back to reach the server');
    assert.equal(kept.closed(), false);
  });

  it('delays bytes during a delay spell without reordering them', async () => {
    const echo = await echoServer();
    cleanup.push(() => echo.server.close());
    const proxy = await FaultProxy.start(echo.port);
    cleanup.push(() => proxy.close());
    const client = await dial(proxy.port);
    proxy.delay(100, 1000);
    const began = Date.now();
    for (const part of ['a', 'b', 'c', 'd']) {
      client.socket.write(part);
      await sleep(10);
    }
    await waitFor(() => client.received() === 'abcd', 'every byte, in order');
    // 100 ms on the way there and 100 ms on the way back.
    assert.ok(Date.now() - began >= 200, `${Date.now() - began} ms`);
    proxy.heal();
    const healed = Date.now();
    client.socket.write('e');
    await waitFor(() => client.received() === 'abcde', 'the byte after the spell');
    assert.ok(Date.now() - healed < 100);
  });
});
