/**
 * The server under test of the `hostile` workload: HoldfastServer with the options of
 * `holdfast serve` (its demo topics, every limit at its default, the frame rate limit included),
 * plus what the floods need: an `echo` request handler, and optionally a slow `authenticate`.
 * Besides memory, CPU and stop (bench/servers/serve.ts) it samples its own heap peak and
 * event-loop delay, reads its /proc I/O counters, and fills a topic before a flood.
 *
 *   node hostile.js [--data=<folder>] [--auth-delay=<ms>] [--port=N]
 *
 *   --data=<folder>     the SQLite store of that data folder (as `holdfast serve --data`); default: memory
 *   --auth-delay=<ms>   authenticate waits this long, then refuses (close 4401)
 */
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { HoldfastServer, type ServerOptions, type Store } from 'holdfast/server';
import { onParentMessage } from '../lib/ipc.js';
import type { HostileServerCommand, HostileServerReport, WatchFigures } from '../hostile/messages.js';
import { portArgument, serve } from './serve.js';

const argument = (name: string): string | undefined => process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
const dataFolder = argument('data');
const authDelay = argument('auth-delay');
const report = (message: HostileServerReport): void => void process.send?.(message);

let server: HoldfastServer;
let store: Store | undefined;

await serve(`hostile server (${dataFolder === undefined ? 'memory' : 'sqlite'})`, async () => {
  const options: ServerOptions = {
    port: portArgument(),
    host: '127.0.0.1',
    // DEMO_TOPICS of src/cli/standalone.ts, which `holdfast serve` runs with.
    topics: { 'chat:*': { mode: 'reliable' }, prices: { mode: 'latest' }, 'typing:*': { mode: 'volatile' } },
    handlers: { echo: (data) => data },
  };
  if (authDelay !== undefined) {
    options.authenticate = () => new Promise((resolve) => setTimeout(() => resolve(null), Number(authDelay)));
  }
  if (dataFolder !== undefined) {
    const { openDataFolder } = await import('holdfast/store/sqlite');
    store = openDataFolder(dataFolder);
    options.store = store;
  }
  server = new HoldfastServer(options);
  await server.ready;
  const { maxBufferedBytes, maxPayload } = server.hub.options.limits;
  report({ type: 'limits', limits: { maxBufferedBytes, maxPayload } });
  return {
    url: `ws://127.0.0.1:${server.port}${server.path}`,
    connections: () => server.hub.stats().connections,
    close: async () => {
      await server.close();
      await store?.close();
    },
  };
});

/** wchar and write_bytes of /proc/self/io (all threads, the checkpoint worker included). */
function io(): { wchar: number; writeBytes: number } | undefined {
  try {
    const text = readFileSync('/proc/self/io', 'utf8');
    const field = (name: string): number => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(text)?.[1]);
    return { wchar: field('wchar'), writeBytes: field('write_bytes') };
  } catch {
    return undefined;
  }
}

const cpuUs = (): number => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();
let watchedSince = performance.now();
let cpuAtStart = cpuUs();
let ioAtStart = io();
let maxHeapUsed = 0;
let maxExternal = 0;
const sample = (): void => {
  const { heapUsed, external } = process.memoryUsage();
  maxHeapUsed = Math.max(maxHeapUsed, heapUsed);
  maxExternal = Math.max(maxExternal, external);
};
setInterval(sample, 50).unref();

/** Topics the store holds: the memory store's map, the SQLite store's topics table (best effort: private fields). */
function topicCount(): number | undefined {
  try {
    const internal = server.hub.store as unknown as { topics?: Map<string, unknown>; db?: { prepare(sql: string): { get(): unknown } } };
    if (internal.topics instanceof Map) return internal.topics.size;
    const row = internal.db?.prepare('SELECT count(*) AS n FROM topics').get() as { n: number } | undefined;
    return row?.n;
  } catch {
    return undefined;
  }
}

onParentMessage<HostileServerCommand>((command) => {
  switch (command.type) {
    case 'watch-start':
      loop.reset();
      watchedSince = performance.now();
      cpuAtStart = cpuUs();
      ioAtStart = io();
      maxHeapUsed = maxExternal = 0;
      sample();
      return;
    case 'watch': {
      sample();
      const now = io();
      const figures: WatchFigures = {
        maxHeapUsed,
        maxExternal,
        loopMaxMs: loop.max / 1e6,
        windowMs: performance.now() - watchedSince,
        cpuUs: cpuUs() - cpuAtStart,
        writeBytes: now === undefined || ioAtStart === undefined ? undefined : now.writeBytes - ioAtStart.writeBytes,
        wchar: now === undefined || ioAtStart === undefined ? undefined : now.wchar - ioAtStart.wchar,
      };
      report({ type: 'watch', figures });
      return;
    }
    case 'prefill': {
      const started = performance.now();
      void (async () => {
        for (let i = 0; i < command.messages; i++) {
          // A string of its own per message, as messages from the network are.
          await server.publish(command.topic, String.fromCharCode(97 + (i % 26)).repeat(command.bytes));
        }
        report({ type: 'prefilled', ms: performance.now() - started });
      })();
      return;
    }
    case 'topics':
      report({ type: 'topics', count: topicCount() });
      return;
  }
});
