import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { HoldfastClient, HoldfastError, type SubscribedInfo } from '../../src/client/index.js';
import { startStandalone, type Standalone } from '../../src/cli/standalone.js';
import { MemoryStore } from '../../src/store/memory/index.js';
import { openDataFolder } from '../../src/store/sqlite/index.js';
import type { StoredMessage } from '../../src/store/types.js';
import { publish } from './helpers.js';

const TOPIC = 'chat:lobby';
const folders: string[] = [];
after(async () => {
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
});

async function tempFolder(): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'holdfast-standalone-'));
  folders.push(folder);
  return folder;
}

async function readAll(store: Standalone['store'], topic = TOPIC): Promise<StoredMessage[]> {
  const { messages } = await store.read(topic, 0, 1_000_000);
  return messages;
}

async function until(condition: () => boolean, timeout = 5000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('startStandalone store option', () => {
  it("keeps the memory store by default and closes it with the server", async () => {
    const app = await startStandalone({ port: 0, priceFeed: false });
    assert.deepEqual(app.storage, { kind: 'memory' });
    assert.ok(app.store instanceof MemoryStore);
    await app.close();
  });

  it('{ dataFolder }: a restart on the same folder keeps the history and the epoch; close() unlocks the database', async () => {
    const dataFolder = join(await tempFolder(), 'data'); // created on first use
    let app = await startStandalone({ port: 0, priceFeed: false, store: { dataFolder } });
    assert.deepEqual(app.storage, { kind: 'sqlite', file: join(dataFolder, 'holdfast.db') });
    await app.server.publish(TOPIC, { text: 'one' });
    const { epoch } = await app.store.info(TOPIC);
    await app.close();

    app = await startStandalone({ port: 0, priceFeed: false, store: { dataFolder } });
    try {
      const info = await app.store.info(TOPIC);
      assert.equal(info.epoch, epoch);
      assert.deepEqual(
        (await readAll(app.store)).map((m) => m.data),
        [{ text: 'one' }],
      );
    } finally {
      await app.close();
    }
  });

  it('refuses an unusable data folder before listening', async () => {
    await assert.rejects(startStandalone({ port: 0, priceFeed: false, store: { dataFolder: '/nonexistent/deeper/folder' } }), {
      name: 'HoldfastError',
      code: 'DATA_FOLDER_UNUSABLE',
    });
  });

  it('releases the database when the port is taken', async () => {
    const first = await startStandalone({ port: 0, priceFeed: false });
    const dataFolder = await tempFolder();
    try {
      await assert.rejects(startStandalone({ port: first.port, priceFeed: false, store: { dataFolder } }), { code: 'EADDRINUSE' });
      const store = openDataFolder(dataFolder); // would be DATABASE_LOCKED if the failed start kept it open
      await store.close();
    } finally {
      await first.close();
    }
  });

  it('leaves a Store it was given open', async () => {
    const store = new MemoryStore();
    const app = await startStandalone({ port: 0, priceFeed: false, store });
    assert.deepEqual(app.storage, { kind: 'custom' });
    await app.server.publish(TOPIC, 'kept');
    await app.close();
    assert.equal((await readAll(store)).length, 1, 'still readable after close()');
    await store.close();
  });
});

describe('a full database at runtime (maxSizeBytes)', () => {
  it('rejects publishes with STORE_FULL; every acknowledged message is stored and survives a restart, no rejected one is', async () => {
    const dataFolder = await tempFolder();
    const serverErrors: unknown[] = [];
    const app = await startStandalone({
      port: 0,
      priceFeed: false,
      store: { dataFolder, maxSizeBytes: 200 * 1024 },
      server: { onError: (error) => serverErrors.push(error) },
    });
    const client = new HoldfastClient({ url: app.wsUrl, WebSocket });
    const reader = new HoldfastClient({ url: app.wsUrl, WebSocket });
    const ids = (messages: StoredMessage[]) => messages.map((m) => (m.data as { at: number }).at).sort((a, b) => a - b);
    let expected: number[] = [];
    try {
      const acknowledged = new Set<number>();
      const rejected = new Map<number, unknown>();
      let next = 0;
      const send = (text: string) => {
        const i = next++;
        return client.publish(TOPIC, { id: `m${i}`, name: 'load', text, at: i }).then(
          () => void acknowledged.add(i),
          (error: unknown) => void rejected.set(i, error),
        );
      };
      // Bursts, so that the server stores several publishes per transaction, until the database is full.
      while (rejected.size === 0 && next < 10_000) await Promise.all(Array.from({ length: 20 }, () => send('x'.repeat(200))));
      assert.ok(rejected.size > 0, 'the database filled up');
      assert.ok(acknowledged.size > 50, `${acknowledged.size} messages fitted`);
      // Once full, more of them: large ones fail; whatever small ones still fit must be kept.
      await Promise.all(Array.from({ length: 20 }, (_, k) => send(k % 2 === 0 ? 'x'.repeat(200) : 'y')));

      for (const [i, error] of rejected) {
        assert.ok(error instanceof HoldfastError, `publish ${i} rejected with ${String(error)}`);
        assert.equal(error.code, 'STORE_FULL', `publish ${i}: ${error.message}`);
      }
      assert.equal(acknowledged.size + rejected.size, next, 'every publish was settled');
      assert.ok(serverErrors.length > 0, 'the server reported the full disk to the operator');

      expected = [...acknowledged].sort((a, b) => a - b);
      const stored = await readAll(app.store);
      assert.deepEqual(ids(stored), expected, 'stored = acknowledged: none rejected was stored, none acknowledged was lost');
      assert.deepEqual(
        stored.map((m) => m.offset),
        Array.from({ length: stored.length }, (_, k) => k + 1),
        'a failed write takes no offset',
      );

      // Still serving: a new subscriber reads the whole history, and the HTTP API answers 507.
      const received: number[] = [];
      const chat = reader.subscribe(TOPIC, (data) => received.push((data as { at: number }).at), { from: 'start' });
      const subscribed: SubscribedInfo = await chat.ready;
      assert.equal(subscribed.recovered, true);
      await until(() => received.length >= expected.length);
      assert.deepEqual([...received].sort((a, b) => a - b), expected);
      // Larger than the whole 200 KB database could hold free: whatever pages a checkpoint or a sweep
      // freed, this cannot fit (a 4 KB message sometimes did, and the test then saw 200).
      const api = await publish(app.url, { topic: TOPIC, data: { text: 'x'.repeat(150_000) } });
      assert.equal(api.status, 507, api.body);
      assert.equal((JSON.parse(api.body) as { error: { code: string } }).error.code, 'STORE_FULL');
    } finally {
      client.close();
      reader.close();
      await app.close();
    }

    // After a restart (without the cap) the same messages are there: acknowledged means on disk.
    const reopened = openDataFolder(dataFolder);
    try {
      assert.deepEqual(ids(await readAll(reopened)), expected);
    } finally {
      await reopened.close();
    }
  });
});
