import type { TopicOptions, TopicTable } from '../server/options.js';
import { LOOPBACK_HOSTS, LOOPBACK_ORIGINS } from '../server/origins.js';
import { DEMO_TOPICS, matchesPattern, SERVER_FED_TOPICS } from './access.js';
import type { ServeCommand, StoreChoice } from './args.js';
import type { FileOnlySettings } from './config.js';
import { latestMessageSnapshot } from './snapshot.js';
import type { StandaloneOptions } from './standalone.js';
import type { Store } from '../store/types.js';

/** What `serve` asks of startStandalone: the command's settings in the standalone's terms. */
export function standaloneOptions(command: ServeCommand): StandaloneOptions {
  const fileOnly: FileOnlySettings = command.fileOnly ?? {};
  return {
    port: command.port,
    host: command.host,
    path: command.path,
    apiKey: command.apiKey,
    metricsKey: command.metricsKey,
    priceFeed: command.prices,
    store: storeOption(command.store),
    allowedOrigins: [...LOOPBACK_ORIGINS, ...command.allowedOrigins],
    // Named hosts come on top of the loopback names; without the flag, serve's default for its --host.
    ...(command.allowedHosts === undefined ? {} : { allowedHosts: command.allowedHosts === null ? null : [...LOOPBACK_HOSTS, ...command.allowedHosts] }),
    ...(fileOnly.anonymous === undefined ? {} : { anonymous: { subscribe: fileOnly.anonymous.subscribe ?? [], publish: fileOnly.anonymous.publish ?? [] } }),
    ...(fileOnly.topics === undefined ? {} : { topicsFromStore: (store: Store) => topicTable(fileOnly, command.prices, store) }),
    server: {
      trustedProxies: command.trustedProxies,
      limits: { ...fileOnly.limits, maxConnectionsPerAddress: command.maxConnectionsPerAddress },
      ...heartbeatOption(command),
      ...(fileOnly.sessionTtl === undefined ? {} : { sessionTtl: fileOnly.sessionTtl }),
      ...(fileOnly.dedupWindow === undefined ? {} : { dedupWindow: fileOnly.dedupWindow }),
    },
  };
}

/**
 * The config file's topics as the server's table. The price feed publishes to `prices`: while it
 * runs, the demo's entry for it is kept unless the file covers the name itself, or every publish
 * of the feed would fail as an unknown topic.
 */
export function topicTable(fileOnly: FileOnlySettings, prices: boolean, store: Store): TopicTable {
  const table: Record<string, TopicOptions> = {};
  for (const { pattern, mode, retention, maxKeys, snapshot } of fileOnly.topics ?? []) {
    table[pattern] = {
      mode: mode ?? 'reliable',
      ...(retention === undefined ? {} : { retention }),
      ...(maxKeys === undefined ? {} : { maxKeys }),
      ...(snapshot === 'latest' ? { snapshot: latestMessageSnapshot(store) } : {}),
    };
  }
  if (prices) {
    for (const name of SERVER_FED_TOPICS) {
      if (!Object.keys(table).some((pattern) => matchesPattern(name, pattern))) table[name] = (DEMO_TOPICS as Record<string, TopicOptions>)[name]!;
    }
  }
  return table;
}

/** Only the heartbeat times given: the server's defaults fill the rest. */
function heartbeatOption(command: ServeCommand): { heartbeat?: { interval?: number; timeout?: number } } {
  const heartbeat: { interval?: number; timeout?: number } = {};
  if (command.heartbeatInterval !== undefined) heartbeat.interval = command.heartbeatInterval;
  if (command.heartbeatTimeout !== undefined) heartbeat.timeout = command.heartbeatTimeout;
  return Object.keys(heartbeat).length === 0 ? {} : { heartbeat };
}

function storeOption(choice: StoreChoice): NonNullable<StandaloneOptions['store']> {
  if (choice.kind === 'memory') return 'memory';
  if (choice.kind === 'redis') {
    return {
      redisUrl: choice.url,
      ...(choice.keyPrefix === undefined ? {} : { keyPrefix: choice.keyPrefix }),
      ...(choice.waitForReplicas === undefined ? {} : { waitForReplicas: choice.waitForReplicas }),
    };
  }
  const { dataFolder, synchronous, maxSizeBytes } = choice;
  return maxSizeBytes === undefined ? { dataFolder, synchronous } : { dataFolder, synchronous, maxSizeBytes };
}
