/** Load for test 3 (raw ws): `count` idle `ws` clients, opened in batches. */
import { WebSocket } from 'ws';
import { toParent } from '../lib/ipc.js';
import { loadProcess, openInBatches, withTimeout } from './common.js';

const sockets: WebSocket[] = [];

loadProcess('ws connections load', {
  async open({ url, count, batch }) {
    const errors: Record<string, number> = {};
    const outcome = await openInBatches(
      count,
      batch,
      (index) => {
        const ws = new WebSocket(url, { perMessageDeflate: false });
        sockets[index] = ws;
        ws.on('error', () => undefined);
        const opened = new Promise<void>((resolve, reject) => {
          ws.once('open', () => resolve());
          ws.once('error', reject);
        });
        return withTimeout(opened, 15_000, 'ws open');
      },
      errors,
    );
    toParent({ type: 'opened', ...outcome, errors });
  },
  async stop() {
    for (const ws of sockets) ws.terminate();
  },
});
