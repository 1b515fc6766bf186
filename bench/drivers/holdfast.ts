/**
 * Holdfast's own client, as an application uses it. Going offline is what a browser does when the
 * network goes: the host reports offline and the socket dies; coming back is the `online` event,
 * on which the client reconnects at once and resumes its session (bench/servers/holdfast.ts sets
 * the topics' mode: volatile or reliable).
 */
import { WebSocket } from 'ws';
import { HoldfastClient, type ClientEnvironment } from 'holdfast/client';
import type { SystemId } from '../lib/results.js';
import type { BenchClient, ConnectOptions, Driver, MessageHandler } from './types.js';

/** A host whose connectivity the bench switches, like a browser's navigator.onLine and `online`. */
class SwitchableHost implements ClientEnvironment {
  online = true;
  private readonly listeners = new Set<() => void>();
  isOnline(): boolean {
    return this.online;
  }
  onOnline(callback: () => void): () => void {
    this.listeners.add(callback);
    return () => this.listeners.delete(callback);
  }
  onVisible(): () => void {
    return () => undefined;
  }
  goOnline(): void {
    this.online = true;
    for (const listener of [...this.listeners]) listener();
  }
}

class HoldfastBenchClient implements BenchClient {
  private recovered: boolean | undefined;

  constructor(
    private readonly client: HoldfastClient,
    private readonly host: SwitchableHost,
  ) {}

  publish(topic: string, payload: unknown): Promise<void> {
    return this.client.publish(topic, payload);
  }

  async subscribe(topic: string, onMessage: MessageHandler): Promise<void> {
    const subscription = this.client.subscribe(topic, (data) => onMessage(data));
    subscription.on('subscribed', ({ recovered }) => (this.recovered = recovered));
    await subscription.ready;
  }

  async goOffline(): Promise<void> {
    this.host.online = false;
    this.client.dropConnection();
  }

  async reconnect(): Promise<{ recovered: boolean | undefined }> {
    this.recovered = undefined;
    const opened = new Promise<boolean>((resolve) => {
      const stop = this.client.on('open', ({ resumed }) => {
        stop();
        resolve(resumed);
      });
    });
    this.host.goOnline();
    const resumed = await opened;
    return { recovered: resumed && this.recovered !== false };
  }

  close(): void {
    this.client.close();
  }
}

export function holdfastDriver(id: Extract<SystemId, `holdfast${string}`>): Driver {
  return {
    id,
    async connect({ url, hooks }: ConnectOptions): Promise<BenchClient> {
      const host = new SwitchableHost();
      // Default options, as an application would have them: reconnecting is always on.
      const client = new HoldfastClient({ url, WebSocket, environment: host });
      if (hooks !== undefined) {
        client.on('state', ({ newState }) => {
          if (newState === 'connecting') hooks.attempt();
          else if (newState === 'reconnecting' || newState === 'offline') hooks.lost();
        });
        client.on('open', ({ resumed }) => hooks.open(resumed));
      }
      client.on('error', () => undefined);
      await new Promise<void>((resolve) => {
        const stop = client.on('open', () => {
          stop();
          resolve();
        });
      });
      return new HoldfastBenchClient(client, host);
    },
  };
}
