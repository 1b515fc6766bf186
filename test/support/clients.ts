import { WebSocket } from 'ws';
import { HoldfastClient, type ClientOptions } from '../../src/client/index.js';

const clients: HoldfastClient[] = [];

/** A real client over `ws` with quick reconnects; closed by `closeClients()`. */
export function makeClient(url: string, options: Partial<ClientOptions> = {}): HoldfastClient {
  const client = new HoldfastClient({
    url,
    WebSocket: WebSocket as never,
    reconnect: { initialDelay: 10, maxDelay: 50 },
    ...options,
  });
  clients.push(client);
  return client;
}

export function closeClients(): void {
  for (const client of clients.splice(0)) client.close();
}
