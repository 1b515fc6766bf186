import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { HoldfastClient, type StateChange, type SubscribedInfo } from '../../src/client/index.js';
import { startStandalone, type Standalone } from '../../src/cli/standalone.js';
import { buildLib, http, ROOT } from './helpers.js';

/** Relative module specifiers in a built file: what the browser will fetch next. */
function importsOf(source: string): string[] {
  const specifiers = new Set<string>();
  for (const match of source.matchAll(/\b(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']|\bimport\s*["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/g)) {
    const specifier = match[1] ?? match[2] ?? match[3];
    if (specifier !== undefined) specifiers.add(specifier);
  }
  return [...specifiers];
}

describe('demo page assets', () => {
  let app: Standalone;
  let libDir: string;
  before(async () => {
    libDir = await buildLib();
    app = await startStandalone({ port: 0, libDir, priceFeed: false });
  });
  after(async () => {
    await app.close();
    await rm(libDir, { recursive: true, force: true });
  });

  it('app.js imports the browser bundle, one self-contained file', async () => {
    const source = await readFile(join(ROOT, 'demo', 'app.js'), 'utf8');
    assert.deepEqual(importsOf(source), ['/lib/browser/holdfast-client.js']);
    const response = await http(app.url, '/lib/browser/holdfast-client.js');
    assert.equal(response.status, 200);
    assert.match(String(response.headers['content-type']), /^text\/javascript/);
    assert.deepEqual(importsOf(response.body), [], 'nothing more for the browser to fetch');
    for (const name of ['HoldfastClient', 'indexedDbOutbox', 'connectionStatus']) {
      assert.match(response.body, new RegExp(`export\\s*\\{[^}]*\\b${name}\\b`), `exports ${name}`);
    }
  });
});

/** Waits for the first event of `emitter` satisfying `match`. */
function waitFor<T>(on: (listener: (value: T) => void) => () => void, match: (value: T) => boolean = () => true, timeout = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error('event did not come in time'));
    }, timeout);
    const off = on((value) => {
      if (!match(value)) return;
      clearTimeout(timer);
      off();
      resolve(value);
    });
  });
}

async function until(condition: () => boolean, timeout = 5000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('the demo flow with the real client', () => {
  it('chat history, offline sends confirmed after reconnect, and the recovery flag after a server restart', async () => {
    let app = await startStandalone({ port: 0, priceFeed: { interval: 50 } });
    const port = app.port;
    const client = new HoldfastClient({
      url: app.wsUrl,
      WebSocket,
      autoConnect: false,
      reconnect: { initialDelay: 50, maxDelay: 100 },
    });
    const states: StateChange[] = [];
    client.on('state', (change) => states.push(change));
    try {
      await app.server.publish('chat:lobby', { id: 'm0', name: 'Ann', text: 'before you came', at: 0 });
      const received: Array<{ data: unknown; offset: number | undefined }> = [];
      const chat = client.subscribe('chat:lobby', (data, meta) => received.push({ data, offset: meta.offset }), { from: 'start' });
      const subscribedEvents: SubscribedInfo[] = [];
      chat.on('subscribed', (info) => subscribedEvents.push(info));
      const prices: string[] = [];
      client.subscribe('prices', (_data, meta) => prices.push(meta.key ?? ''));
      client.connect();
      const first = await chat.ready;
      assert.equal(first.recovered, true);
      assert.equal(first.resubscribe, false);

      await client.publish('chat:lobby', { id: 'm1', name: 'Bob', text: 'hi', at: 1 });
      await until(() => received.length >= 2);
      assert.deepEqual(
        received.map((m) => m.offset),
        [1, 2],
      );

      // The server goes away (graceful close: 1001); a message written meanwhile stays pending.
      await app.close();
      await waitFor<StateChange>((l) => client.on('state', l), (c) => c.newState === 'reconnecting' || c.newState === 'connecting');
      let delivered = false;
      const offlineSend = client.publish('chat:lobby', { id: 'm2', name: 'Bob', text: 'written offline', at: 2 }).then(() => {
        delivered = true;
      });
      await new Promise((resolve) => setTimeout(resolve, 150));
      assert.equal(delivered, false, 'not confirmed while no server is there');

      // A new server on the same port: a new memory store, so a new epoch and history is gone.
      app = await startStandalone({ port, priceFeed: false });
      await offlineSend;
      await until(() => subscribedEvents.length >= 2);
      const last = subscribedEvents.at(-1)!;
      assert.equal(last.resubscribe, true);
      assert.equal(last.recovering, true);
      assert.equal(last.recovered, false, 'a new epoch cannot be recovered: the page says "history may have gaps"');
      assert.ok(states.some((c) => c.newState === 'reconnecting' && typeof c.retryAt === 'number' && typeof c.attempt === 'number'));
      assert.ok(prices.length > 0, 'prices arrived before the restart');
    } finally {
      client.close();
      await app.close();
    }
  });
  it('with the SQLite store, a restart loses nothing: the page says everything was recovered', async () => {
    const dataFolder = await mkdtemp(join(tmpdir(), 'holdfast-demo-data-'));
    let app = await startStandalone({ port: 0, priceFeed: false, store: { dataFolder } });
    const port = app.port;
    const client = new HoldfastClient({ url: app.wsUrl, WebSocket, reconnect: { initialDelay: 50, maxDelay: 100 } });
    try {
      await app.server.publish('chat:lobby', { id: 'm0', name: 'Ann', text: 'before you came', at: 0 });
      const received: Array<{ id: string; offset: number | undefined }> = [];
      const chat = client.subscribe('chat:lobby', (data, meta) => received.push({ id: (data as { id: string }).id, offset: meta.offset }), {
        from: 'start',
      });
      const subscribedEvents: SubscribedInfo[] = [];
      chat.on('subscribed', (info) => subscribedEvents.push(info));
      await chat.ready;
      await client.publish('chat:lobby', { id: 'm1', name: 'Bob', text: 'hi', at: 1 });
      await until(() => received.length >= 2);

      await app.close();
      await waitFor<StateChange>((l) => client.on('state', l), (c) => c.newState === 'reconnecting' || c.newState === 'connecting');
      const offlineSend = client.publish('chat:lobby', { id: 'm2', name: 'Bob', text: 'written offline', at: 2 });

      // The same data folder: the same history and epoch.
      app = await startStandalone({ port, priceFeed: false, store: { dataFolder } });
      await app.server.publish('chat:lobby', { id: 'm3', name: 'Ann', text: 'back again', at: 3 });
      await offlineSend;
      await until(() => received.length >= 4);
      const last = subscribedEvents.at(-1)!;
      assert.equal(last.resubscribe, true);
      assert.equal(last.recovering, true);
      assert.equal(last.recovered, true, 'the page shows no gap notice');
      assert.deepEqual(
        received.map((m) => m.offset),
        [1, 2, 3, 4],
      );
      assert.deepEqual(received.map((m) => m.id).sort(), ['m0', 'm1', 'm2', 'm3']);
    } finally {
      client.close();
      await app.close();
      await rm(dataFolder, { recursive: true, force: true });
    }
  });
});
