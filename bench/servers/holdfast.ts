/**
 * Server under test 2: HoldfastServer with the memory store and default options. With the argument
 * `--no-rate-limit` the per-connection frame rate limit (default 10,000/s, burst 20,000) is lifted;
 * `--sqlite=<file>` uses a SqliteStore on that file (default options: synchronous 'normal') instead
 * of the memory store; `--options=<json>` merges further HoldfastServer options (for experiments,
 * e.g. {"ackBatch":10}).
 */
import { HoldfastServer, type ServerOptions } from 'holdfast/server';
import type { Store } from 'holdfast/server';
import { serve } from './serve.js';

const unlimited = process.argv.includes('--no-rate-limit');
const extra = process.argv.find((arg) => arg.startsWith('--options='));
const sqliteFile = process.argv.find((arg) => arg.startsWith('--sqlite='))?.slice('--sqlite='.length);

await serve('holdfast server', async () => {
  const options: ServerOptions = { port: 0 };
  if (unlimited) options.limits = { messageRate: { perSecond: 1e12, burst: 1e12 } };
  let store: Store | undefined;
  if (sqliteFile !== undefined) {
    // Loaded only here: the memory runs never touch better-sqlite3.
    const { SqliteStore } = await import('holdfast/store/sqlite');
    store = new SqliteStore({ file: sqliteFile });
    options.store = store;
  }
  if (extra !== undefined) Object.assign(options, JSON.parse(extra.slice('--options='.length)) as ServerOptions);
  const server = new HoldfastServer(options);
  await server.ready;
  return {
    url: `ws://127.0.0.1:${server.port}${server.path}`,
    connections: () => server.hub.stats().connections,
    // A store passed in is the caller's to close (the hub closes only the one it made).
    close: async () => {
      await server.close();
      await store?.close();
    },
  };
});
