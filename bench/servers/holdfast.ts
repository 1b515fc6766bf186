/**
 * Server under test: HoldfastServer.
 *   --mode=reliable|volatile   the mode of every topic (default reliable); reliable topics keep
 *                              the last 100,000 messages (more than any workload sends)
 *   --sqlite=<file>            a SqliteStore on that file (synchronous 'normal') instead of the memory store
 *   --redis=<url>              a RedisStore on that Redis instead of the memory store
 *   --redis-prefix=<prefix>    its keyPrefix (default: a fresh random one); the keys under it are
 *                              deleted when the server stops (not when it is killed: the storm's
 *                              restart finds its sessions), unless --redis-keep
 *   --no-rate-limit            lifts the per-connection frame rate limit (default 10,000/s, burst 20,000)
 *   --port=N                   listen on N (the storm restarts the server on its old port)
 *   --options=<json>           further HoldfastServer options (experiments, e.g. {"ackBatch":10})
 */
import { HoldfastServer, type ServerOptions, type Store, type TopicOptions } from 'holdfast/server';
import { randomBytes } from 'node:crypto';
import { portArgument, serve } from './serve.js';

const argument = (name: string): string | undefined => process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
const unlimited = process.argv.includes('--no-rate-limit');
const extra = argument('options');
const sqliteFile = argument('sqlite');
const redisUrl = argument('redis');
const redisPrefix = argument('redis-prefix') ?? `bench-${randomBytes(6).toString('hex')}`;
const keepRedisKeys = process.argv.includes('--redis-keep');
const mode = (argument('mode') ?? 'reliable') as TopicOptions['mode'];

const storeName = sqliteFile !== undefined ? ', sqlite' : redisUrl !== undefined ? ', redis' : '';
if (sqliteFile !== undefined && redisUrl !== undefined) throw new Error('--sqlite and --redis: one store only');

/** Deletes every key under the prefix (SCAN + UNLINK); a single Redis only, not a cluster. */
async function deleteRedisKeys(url: string, prefix: string): Promise<void> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

await serve(`holdfast server (${mode}${storeName})`, async () => {
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
  } else if (redisUrl !== undefined) {
    const { RedisStore } = await import('holdfast/store/redis');
    store = new RedisStore({ url: redisUrl, keyPrefix: redisPrefix });
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
      if (redisUrl !== undefined && !keepRedisKeys) {
        await deleteRedisKeys(redisUrl, redisPrefix).catch((error: unknown) => console.error(`[bench] deleting ${redisPrefix}:* failed: ${String(error)}`));
      }
    },
  };
});
