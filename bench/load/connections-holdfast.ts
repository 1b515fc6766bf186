/**
 * Load for test 3 (Holdfast): `count` idle HoldfastClients, opened in batches; each counts once it
 * is 'open' (welcomed) and its one subscription is confirmed.
 */
import { WebSocket } from 'ws';
import { HoldfastClient } from 'holdfast/client';
import { toParent } from '../lib/ipc.js';
import { loadProcess, openInBatches, withTimeout } from './common.js';

const clients: HoldfastClient[] = [];

loadProcess('holdfast connections load', {
  async open({ url, count, batch, topic }) {
    const errors: Record<string, number> = {};
    const outcome = await openInBatches(
      count,
      batch,
      async (index) => {
        const client = new HoldfastClient({ url, WebSocket });
        clients[index] = client;
        client.on('error', () => undefined);
        const opened = new Promise<void>((resolve) => {
          if (client.state === 'open') resolve();
          else client.on('open', () => resolve());
        });
        const subscription = client.subscribe(topic, () => undefined);
        try {
          await withTimeout(Promise.all([opened, subscription.ready]), 15_000, 'holdfast open + subscribed');
          if (client.state !== 'open') throw new Error(`client state ${client.state}`);
        } catch (error) {
          client.close(); // no reconnecting in the background while the memory is measured
          throw error;
        }
      },
      errors,
    );
    toParent({ type: 'opened', ...outcome, errors });
  },
  async stop() {
    for (const client of clients) client.close();
  },
});
