/**
 * Server under test: Socket.IO 4 on the WebSocket transport only (as its clients are told to use).
 * `pub` (topic, data, ack) relays `msg` to the topic's room — every member but the sender — and
 * acks; `sub` (topic, ack) joins the room. `--recovery` turns connection state recovery on (missed
 * room broadcasts are replayed to a client that comes back within two minutes). `--port N`.
 *
 * Several nodes on one Redis (the cluster bench, bench/lib/cluster.ts): `--redis=<url>` with
 * `--adapter=pubsub` (@socket.io/redis-adapter: Redis pub/sub, no recovery) or `--adapter=streams`
 * (@socket.io/redis-streams-adapter, each at its defaults; with `--recovery` its sessions are kept
 * in Redis, so a client recovers on any node).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, type ServerOptions } from 'socket.io';
import { portArgument, serve } from './serve.js';

const argument = (name: string): string | undefined => process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
const recovery = process.argv.includes('--recovery');
const redisUrl = argument('redis');
const adapterKind = argument('adapter') ?? 'pubsub';
if (adapterKind !== 'pubsub' && adapterKind !== 'streams') throw new Error(`--adapter=pubsub|streams, got "${adapterKind}"`);

/** The Redis adapter of --adapter, and the connections to close at the end. */
async function redisAdapter(url: string): Promise<{ adapter: ServerOptions['adapter']; close: () => void }> {
  const { Redis } = await import('ioredis');
  if (adapterKind === 'streams') {
    const { createAdapter } = await import('@socket.io/redis-streams-adapter');
    const client = new Redis(url);
    return { adapter: createAdapter(client), close: () => client.disconnect() };
  }
  const { createAdapter } = await import('@socket.io/redis-adapter');
  const pub = new Redis(url);
  const sub = pub.duplicate();
  return {
    adapter: createAdapter(pub, sub),
    close: () => {
      pub.disconnect();
      sub.disconnect();
    },
  };
}

const name = `socket.io server${redisUrl === undefined ? '' : ` (redis ${adapterKind})`}${recovery ? ' (recovery)' : ''}`;
await serve(name, async () => {
  const http = createServer();
  const redis = redisUrl === undefined ? undefined : await redisAdapter(redisUrl);
  const io = new Server(http, {
    transports: ['websocket'],
    serveClient: false,
    perMessageDeflate: false,
    ...(recovery ? { connectionStateRecovery: { maxDisconnectionDuration: 2 * 60 * 1000, skipMiddlewares: true } } : {}),
    ...(redis === undefined ? {} : { adapter: redis.adapter }),
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
      redis?.close();
    },
  };
});
