import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startStandalone } from '../../src/cli/standalone.js';
import { MemoryBackend, MemoryStore } from '../../src/store/memory/index.js';
import { http } from './helpers.js';

describe('health endpoints of holdfast serve', () => {
  it('/healthz answers while the process runs; /readyz is 503 while the store is unavailable, 200 again once it is back', async () => {
    const backend = new MemoryBackend();
    const store = new MemoryStore({ backend });
    const app = await startStandalone({ port: 0, priceFeed: false, store });
    try {
      assert.deepEqual([(await http(app.url, '/healthz')).status, (await http(app.url, '/readyz')).status], [200, 200]);
      backend.setAvailable(false);
      const during = await http(app.url, '/readyz');
      assert.equal(during.status, 503, during.body);
      assert.equal((await http(app.url, '/healthz')).status, 200, 'alive all the same: a restart would not help');
      backend.setAvailable(true);
      assert.equal((await http(app.url, '/readyz')).status, 200);
    } finally {
      await app.close();
      await store.close();
    }
  });
});
