/**
 * Server under test: HoldfastServer.
 *   --mode=reliable|volatile   the mode of every topic (default reliable); reliable topics keep
 *                              the last 100,000 messages (more than any workload sends)
 *   --sqlite=<file>            a SqliteStore on that file (synchronous 'normal') instead of the memory store
 *   --no-rate-limit            lifts the per-connection frame rate limit (default 10,000/s, burst 20,000)
 *   --port=N                   listen on N (the storm restarts the server on its old port)
 *   --options=<json>           further HoldfastServer options (experiments, e.g. {"ackBatch":10})
 */
import { HoldfastServer, type ServerOptions, type Store, type TopicOptions } from 'holdfast/server';
import { portArgument, serve } from './serve.js';

const argument = (name: string): string | undefined => process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
const unlimited = process.argv.includes('--no-rate-limit');
const extra = argument('options');
const sqliteFile = argument('sqlite');
const mode = (argument('mode') ?? 'reliable') as TopicOptions['mode'];

await serve(`holdfast server (${mode}${sqliteFile === undefined ? '' : ', sqlite'})`, async () => {
  const options: ServerOptions = {
    port: portArgument(),
    host: '127.0.0.1',
    topics: { 'bench/*': { mode, retention: { maxCount: 100_000 } } },
  };
  if (unlimited) options.limits = { messageRate: { perSecond: 1e12, burst: 1e12 } };
  let store: Store | undefined;
  if (sqliteFile !== undefined) {
    // Loaded only here: the memory runs never touch better-sqlite3.
    const { SqliteStore } = await import('holdfast/store/sqlite');
    store = new SqliteStore({ file: sqliteFile });
    options.store = store;
  }
  if (extra !== undefined) Object.assign(options, JSON.parse(extra) as ServerOptions);
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
