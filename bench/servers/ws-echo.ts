/**
 * Server under test: a plain `ws` WebSocketServer. Every message goes back to its sender
 * unchanged (the echo), and to every other connection with its first byte replaced by 'm' (the
 * relay, for fan-out and latency; see bench/drivers/ws.ts). `--port N` listens on N (default: any).
 */
import { WebSocketServer, type WebSocket } from 'ws';
import type { AddressInfo } from 'node:net';
import { portArgument, serve } from './serve.js';

await serve('ws-echo server', async () => {
  const wss = new WebSocketServer({ port: portArgument(), host: '127.0.0.1', perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  const M = 0x6d;
  wss.on('connection', (ws: WebSocket) => {
    ws.on('message', (data: Buffer, isBinary) => {
      ws.send(data, { binary: isBinary });
      if (wss.clients.size < 2) return;
      const relay = Buffer.from(data);
      relay[0] = M;
      for (const other of wss.clients) if (other !== ws) other.send(relay, { binary: false });
    });
    ws.on('error', () => undefined);
  });
  const { port } = wss.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
    connections: () => wss.clients.size,
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
});
