/**
 * One client of a system under test, as the workloads (bench/load/workloads.ts) drive it. Each
 * system's driver maps these calls onto that system's own API, the way its users would call it.
 */
import type { ClusterSystemId, SystemId } from '../lib/results.js';

export type MessageHandler = (payload: unknown) => void;

export interface BenchClient {
  /**
   * Publishes `payload` to `topic`, to be delivered to the topic's subscribers, and resolves on
   * the system's own confirmation: the echo (raw ws), the ack (Socket.IO), PUBACK (MQTT QoS 1),
   * the server's ack (Holdfast).
   */
  publish(topic: string, payload: unknown): Promise<void>;
  /** Subscribes; resolves once the system confirmed the subscription. */
  subscribe(topic: string, onMessage: MessageHandler): Promise<void>;
  /** Loses the connection abruptly (no goodbye) and stays away until `reconnect()`. */
  goOffline(): Promise<void>;
  /** Comes back; resolves once connected again, with whether the system says it recovered. */
  reconnect(): Promise<{ recovered: boolean | undefined }>;
  close(): void;
}

export interface StormHooks {
  /** A connection attempt started (the first one included). */
  attempt(): void;
  /** Connected (again); `resumed` when the system says the session continued. */
  open(resumed: boolean | undefined): void;
  /** The connection was lost. */
  lost(): void;
}

export interface ConnectOptions {
  url: string;
  /** A stable client id where the system has one (MQTT); unique per client. */
  clientId: string;
  /** Ask for a session the broker keeps while offline (MQTT clean: false). */
  persistent?: boolean;
  /** Reconnect by itself, with the system's default policy (storm); otherwise no reconnecting. */
  autoReconnect?: boolean;
  hooks?: StormHooks;
  /**
   * After a reconnection the system did not recover, subscribe again to what was subscribed, as
   * an application does (Socket.IO's rooms belong to a connection; Holdfast resubscribes by itself).
   */
  resubscribe?: boolean;
}

export interface Driver {
  id: SystemId | ClusterSystemId;
  connect(options: ConnectOptions): Promise<BenchClient>;
}

/** Resolves on `event` of an emitter-like object, rejects on its 'error' or after `ms`. */
export function once(target: { once(event: string, listener: (...args: never[]) => void): unknown }, event: string, ms: number, what: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no '${event}' within ${ms} ms`)), ms);
    target.once(event, () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
