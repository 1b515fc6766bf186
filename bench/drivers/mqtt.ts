/**
 * MQTT 3.1.1 over TCP with mqtt.js against Mosquitto: publish at QoS 1 resolves on PUBACK,
 * subscriptions are QoS 1. Going offline destroys the connection; a persistent client
 * (`clean: false`) comes back under the same client id and the broker sends what it queued.
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { BenchClient, ConnectOptions, Driver, MessageHandler } from './types.js';

const CONNECT_TIMEOUT_MS = 30_000;

/**
 * Connects; `onMessage` is attached before any packet can arrive: a broker sends the messages it
 * queued for a persistent session right behind CONNACK, in the same read.
 */
function open(options: ConnectOptions, onMessage: (message: Buffer) => void): Promise<{ client: MqttClient; sessionPresent: boolean }> {
  const client = mqtt.connect(options.url, {
    clientId: options.clientId,
    clean: options.persistent !== true,
    // mqtt.js' default policy: a fixed 1 s between attempts. 0 turns reconnecting off.
    reconnectPeriod: options.autoReconnect === true ? 1000 : 0,
    connectTimeout: CONNECT_TIMEOUT_MS,
    protocolVersion: 4,
  });
  client.on('message', (_topic, message) => onMessage(message));
  const { hooks } = options;
  if (hooks !== undefined) {
    hooks.attempt();
    client.on('reconnect', () => hooks.attempt());
    client.on('connect', (connack) => hooks.open(connack.sessionPresent));
    client.on('close', () => hooks.lost());
  }
  return new Promise((resolve, reject) => {
    const fail = (error: Error): void => {
      if (options.autoReconnect !== true) {
        client.end(true);
        reject(error);
      }
    };
    client.once('error', fail);
    client.once('connect', (connack) => {
      client.off('error', fail);
      client.on('error', () => undefined);
      resolve({ client, sessionPresent: connack.sessionPresent });
    });
  });
}

class MqttBenchClient implements BenchClient {
  private handler: MessageHandler | undefined;

  private client!: MqttClient;

  constructor(private readonly options: ConnectOptions) {}

  readonly receive = (message: Buffer): void => this.handler?.(JSON.parse(message.toString()));

  async open(): Promise<boolean> {
    const { client, sessionPresent } = await open(this.options, this.receive);
    this.client = client;
    return sessionPresent;
  }

  async publish(topic: string, payload: unknown): Promise<void> {
    await this.client.publishAsync(topic, JSON.stringify(payload), { qos: 1 });
  }

  async subscribe(topic: string, onMessage: MessageHandler): Promise<void> {
    this.handler = onMessage;
    await this.client.subscribeAsync(topic, { qos: 1 });
  }

  async goOffline(): Promise<void> {
    await this.client.endAsync(true);
  }

  async reconnect(): Promise<{ recovered: boolean | undefined }> {
    return { recovered: await this.open() };
  }

  close(): void {
    this.client.end(true);
  }
}

export const mqttDriver: Driver = {
  id: 'mqtt',
  async connect(options: ConnectOptions): Promise<BenchClient> {
    const client = new MqttBenchClient(options);
    await client.open();
    return client;
  },
};
