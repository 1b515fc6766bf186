/**
 * Socket.IO 4 client on the WebSocket transport: publish is `emitWithAck('pub', topic, data)`,
 * subscribe joins the topic's room (bench/servers/socketio.ts). Going offline closes the
 * underlying engine without a goodbye, as a network drop would, with reconnection paused.
 */
import { io, type Socket } from 'socket.io-client';
import type { BenchClient, ConnectOptions, Driver, MessageHandler } from './types.js';

const ACK_TIMEOUT_MS = 30_000;

class SocketIoClient implements BenchClient {
  /** Rooms joined, joined again after a reconnection that was not recovered (with `resubscribe`). */
  readonly topics = new Set<string>();

  constructor(private readonly socket: Socket) {}

  async publish(topic: string, payload: unknown): Promise<void> {
    await this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck('pub', topic, payload);
  }

  async subscribe(topic: string, onMessage: MessageHandler): Promise<void> {
    this.socket.on('msg', onMessage);
    this.topics.add(topic);
    await this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck('sub', topic);
  }

  async goOffline(): Promise<void> {
    const disconnected = new Promise<void>((resolve) => this.socket.once('disconnect', () => resolve()));
    this.socket.io.reconnection(false);
    this.socket.io.engine.close(); // "transport close": the server keeps the session for recovery
    await disconnected;
  }

  async reconnect(): Promise<{ recovered: boolean | undefined }> {
    const connected = new Promise<void>((resolve) => this.socket.once('connect', () => resolve()));
    this.socket.io.reconnection(true);
    this.socket.connect();
    await connected;
    return { recovered: this.socket.recovered };
  }

  close(): void {
    this.socket.io.reconnection(false);
    this.socket.disconnect();
  }
}

export function socketIoDriver(id: 'socketio' | 'socketioRecovery' | 'socketioRedis' | 'socketioStreams'): Driver {
  return {
    id,
    async connect({ url, autoReconnect, hooks, resubscribe }: ConnectOptions): Promise<BenchClient> {
      // Reconnection stays with Socket.IO's defaults (1 s initial delay, ±50 % randomisation, up to 5 s).
      const socket = io(url, { transports: ['websocket'], forceNew: true, reconnection: autoReconnect === true });
      if (hooks !== undefined) {
        hooks.attempt();
        socket.io.on('reconnect_attempt', () => hooks.attempt());
        socket.on('connect', () => hooks.open(socket.recovered));
        socket.on('disconnect', () => hooks.lost());
      }
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', (error) => {
          if (!socket.active) reject(error);
        });
      });
      const client = new SocketIoClient(socket);
      if (resubscribe === true) {
        socket.on('connect', () => {
          if (socket.recovered) return;
          for (const topic of client.topics) socket.emit('sub', topic);
        });
      }
      return client;
    },
  };
}
