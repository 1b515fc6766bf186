/**
 * Raw `ws`: the floor, no reliability at all. A client sends 'p' + JSON; the bench server
 * (bench/servers/ws-echo.ts) echoes it unchanged to the sender — the "confirmation" — and relays
 * it as 'm' + JSON to every other connection: every connection is a "subscriber", nothing is kept.
 */
import { WebSocket } from 'ws';
import type { BenchClient, ConnectOptions, Driver, MessageHandler } from './types.js';

class WsClient implements BenchClient {
  /** Echoes come back in order: resolve the oldest waiting publish. */
  private readonly waiting: Array<() => void> = [];
  private head = 0;
  private handler: MessageHandler | undefined;

  constructor(private readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      if (data[0] === 0x70 /* p: our own echo */) this.echoed();
      else if (this.handler !== undefined) this.handler(JSON.parse(data.toString('utf8', 1)));
    });
  }

  publish(_topic: string, payload: unknown): Promise<void> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.ws.send('p' + JSON.stringify(payload));
    });
  }

  /** Every connection gets every relayed message: subscribing only installs the handler. */
  async subscribe(_topic: string, onMessage: MessageHandler): Promise<void> {
    this.handler = onMessage;
  }

  private echoed(): void {
    const resolve = this.waiting[this.head++];
    if (this.head > 1024 && this.head * 2 > this.waiting.length) {
      this.waiting.splice(0, this.head);
      this.head = 0;
    }
    resolve?.();
  }

  goOffline(): Promise<void> {
    return Promise.reject(new Error('raw ws has no reconnection'));
  }

  reconnect(): Promise<{ recovered: boolean | undefined }> {
    return Promise.reject(new Error('raw ws has no reconnection'));
  }

  close(): void {
    this.ws.terminate();
  }
}

export const wsDriver: Driver = {
  id: 'ws',
  async connect({ url }: ConnectOptions): Promise<BenchClient> {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.on('error', () => undefined);
    return new WsClient(ws);
  },
};
