/**
 * Server under test: Socket.IO 4 on the WebSocket transport only (as its clients are told to use).
 * `pub` (topic, data, ack) relays `msg` to the topic's room — every member but the sender — and
 * acks; `sub` (topic, ack) joins the room. `--recovery` turns connection state recovery on (missed
 * room broadcasts are replayed to a client that comes back within two minutes). `--port N`.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { portArgument, serve } from './serve.js';

const recovery = process.argv.includes('--recovery');

await serve(`socket.io server${recovery ? ' (recovery)' : ''}`, async () => {
  const http = createServer();
  const io = new Server(http, {
    transports: ['websocket'],
    serveClient: false,
    perMessageDeflate: false,
    ...(recovery ? { connectionStateRecovery: { maxDisconnectionDuration: 2 * 60 * 1000, skipMiddlewares: true } } : {}),
  });
  io.on('connection', (socket) => {
    socket.on('pub', (topic: string, data: unknown, ack?: () => void) => {
      socket.to(topic).emit('msg', data);
      ack?.();
    });
    socket.on('sub', (topic: string, ack?: () => void) => {
      void socket.join(topic);
      ack?.();
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(portArgument(), '127.0.0.1', resolve);
  });
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => io.engine.clientsCount,
    close: async () => {
      io.disconnectSockets(true);
      await new Promise<void>((resolve) => void io.close(() => resolve()));
    },
  };
});
