import { readFileSync } from 'node:fs';
import type { TopicMode } from '../protocol/index.js';
import { assertSupportedSchema, checkAgainstSchema, SchemaViolation, type SchemaNode } from './schema-walker.js';
import type { FlagName, FlagValue, SettingsLayer } from './settings.js';
import { ConfigError } from './usage-error.js';

/**
 * The config file of `serve` (`--config holdfast.json`): JSON checked against holdfast.schema.json
 * (published with the package, so editors complete it), then split in two: the keys that have a
 * flag become a settings layer under the flags and the environment, and the rest (topics,
 * permissions, limits…) goes to the server as it is.
 */

/** A topic entry of the file: settings for an exact name or a `prefix*` pattern. */
export interface TopicConfig {
  pattern: string;
  mode?: TopicMode;
  retention?: { maxCount?: number; maxAgeMs?: number };
  maxKeys?: number;
  /** 'latest': the newest message is the snapshot of a subscriber that lost its position. @default 'none' */
  snapshot?: 'latest' | 'none';
}

/** What anonymous clients may do, by topic pattern; a list left out allows nothing. */
export interface AnonymousConfig {
  subscribe?: string[];
  publish?: string[];
}

export interface LimitsConfig {
  maxPayload?: number;
  maxSubscriptions?: number;
  maxInFlight?: number;
  maxBufferedBytes?: number;
  maxSessions?: number;
  messageRate?: { perSecond: number; burst: number };
  topicCreation?: { perSecond: number; burst: number };
}

/** The settings only a config file gives. */
export interface FileOnlySettings {
  topics?: TopicConfig[];
  anonymous?: AnonymousConfig;
  limits?: LimitsConfig;
  sessionTtl?: number;
  dedupWindow?: number;
}

/**
 * The file's keys that have a flag, by key path, and how a file value becomes the flag's value.
 * Numbers become text so that the flags' own checks apply to them too.
 */
export const FILE_KEYS_WITH_FLAGS: Readonly<Record<string, { flag: FlagName; value?: (value: unknown) => FlagValue }>> = {
  port: { flag: 'port' },
  host: { flag: 'host' },
  path: { flag: 'path' },
  apiKey: { flag: 'api-key' },
  metricsKey: { flag: 'metrics-key' },
  prices: { flag: 'no-prices', value: (value) => value === false },
  allowedOrigins: { flag: 'allow-origin' },
  allowedHosts: { flag: 'allow-host' },
  trustedProxies: { flag: 'trusted-proxies' },
  'heartbeat.interval': { flag: 'heartbeat-interval' },
  'heartbeat.timeout': { flag: 'heartbeat-timeout' },
  'limits.maxConnectionsPerAddress': { flag: 'max-connections-per-address' },
  'store.folder': { flag: 'data' },
  'store.synchronous': { flag: 'synchronous' },
  'store.maxSize': { flag: 'max-db-size' },
  'store.url': { flag: 'redis' },
  'store.prefix': { flag: 'redis-prefix' },
  'store.waitReplicas': { flag: 'redis-wait-replicas' },
  'store.waitTimeoutMs': { flag: 'redis-wait-timeout' },
};

/** The file's keys without a flag, read into FileOnlySettings (for the schema agreement test). */
export const FILE_ONLY_KEYS: readonly string[] = [
  '$schema',
  'store.kind',
  'sessionTtl',
  'dedupWindow',

  'limits.maxPayload',
  'limits.maxSubscriptions',
  'limits.maxInFlight',
  'limits.maxBufferedBytes',
  'limits.maxSessions',
  'limits.messageRate.perSecond',
  'limits.messageRate.burst',
  'limits.topicCreation.perSecond',
  'limits.topicCreation.burst',
  'topics[].pattern',
  'topics[].mode',
  'topics[].retention.maxCount',
  'topics[].retention.maxAgeMs',
  'topics[].maxKeys',
  'topics[].snapshot',
  'anonymous.subscribe',
  'anonymous.publish',
];

let schema: SchemaNode | undefined;

/** holdfast.schema.json, at the package root: two folders above src/cli and dist/cli alike. */
export function configSchema(): SchemaNode {
  if (schema === undefined) {
    const loaded = JSON.parse(readFileSync(new URL('../../holdfast.schema.json', import.meta.url), 'utf8')) as SchemaNode;
    assertSupportedSchema(loaded);
    schema = loaded;
  }
  return schema;
}

/** Reads and checks the file; every mistake is a UsageError of one line that starts with the file's name. */
export function loadConfigFile(file: string, readConfig: (path: string) => string = (path) => readFileSync(path, 'utf8')): { layer: SettingsLayer; fileOnly: FileOnlySettings | undefined } {
  let text: string;
  try {
    text = readConfig(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(`cannot read the config file ${file}: ${code === 'ENOENT' ? 'no such file' : oneLine(error)}`);
  }
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${file}: not valid JSON (${oneLine(error)})`);
  }
  try {
    checkAgainstSchema(config, configSchema());
  } catch (error) {
    if (error instanceof SchemaViolation) throw new ConfigError(`${file}: ${error.message}`);
    throw error;
  }
  return splitConfig(file, config as Record<string, unknown>);
}

/** Splits a config that passed the schema into the flag layer and the file-only settings. */
function splitConfig(file: string, config: Record<string, unknown>): { layer: SettingsLayer; fileOnly: FileOnlySettings | undefined } {
  const layer: SettingsLayer = { values: {}, names: {} };
  const set = (flag: FlagName, key: string, value: FlagValue) => {
    layer.values[flag] = value;
    layer.names[flag] = `${file}: ${key}`;
  };
  for (const [key, { flag, value: convert }] of Object.entries(FILE_KEYS_WITH_FLAGS)) {
    const value = lookup(config, key);
    if (value === undefined) continue;
    set(flag, key, convert === undefined ? asFlagValue(value) : convert(value));
  }
  const store = config.store as { kind: 'memory' | 'sqlite' | 'redis'; url?: string } | undefined;
  if (store?.kind === 'memory') set('memory', 'store.kind', true);
  // The SQLite store is chosen by its folder, as on the command line; the default folder when none is named.
  if (store?.kind === 'sqlite' && layer.values.data === undefined) set('data', 'store.kind', './data');
  if (store?.kind === 'redis' && store.url === undefined) throw new ConfigError(`${file}: store.url is required when store.kind is "redis"`);
  for (const key of ['url', 'prefix', 'waitReplicas', 'waitTimeoutMs'] as const) {
    if (store !== undefined && store.kind !== 'redis' && key in store) throw new ConfigError(`${file}: store.${key} applies to the Redis store, not "${store.kind}"`);
  }
  for (const key of ['folder', 'synchronous', 'maxSize'] as const) {
    if (store !== undefined && store.kind !== 'sqlite' && key in store) throw new ConfigError(`${file}: store.${key} applies to the SQLite store, not "${store.kind}"`);
  }

  const fileOnly: FileOnlySettings = {};
  const { maxConnectionsPerAddress: _flagged, ...limits } = (config.limits ?? {}) as LimitsConfig & { maxConnectionsPerAddress?: number };
  if (Object.keys(limits).length > 0) fileOnly.limits = limits;
  if (config.topics !== undefined) fileOnly.topics = topicsOf(file, config.topics as TopicConfig[]);
  if (config.anonymous !== undefined) fileOnly.anonymous = config.anonymous as AnonymousConfig;
  if (config.sessionTtl !== undefined) fileOnly.sessionTtl = config.sessionTtl as number;
  if (config.dedupWindow !== undefined) fileOnly.dedupWindow = config.dedupWindow as number;
  return { layer, fileOnly: Object.keys(fileOnly).length === 0 ? undefined : fileOnly };
}

/** The schema checked the shape; here what it cannot say: a pattern appears once, `*` only at its end. */
function topicsOf(file: string, topics: TopicConfig[]): TopicConfig[] {
  const seen = new Set<string>();
  topics.forEach(({ pattern }, index) => {
    if (pattern.indexOf('*') !== -1 && pattern.indexOf('*') !== pattern.length - 1) {
      throw new ConfigError(`${file}: topics[${index}].pattern may hold '*' only at its end (a prefix pattern): "${pattern}"`);
    }
    if (seen.has(pattern)) throw new ConfigError(`${file}: topics[${index}].pattern "${pattern}" appears twice`);
    seen.add(pattern);
  });
  return topics;
}

/** `heartbeat.interval` -> config.heartbeat?.interval */
function lookup(config: Record<string, unknown>, key: string): unknown {
  let value: unknown = config;
  for (const part of key.split('.')) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function asFlagValue(value: unknown): FlagValue {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (Array.isArray(value)) return value.map(String);
  throw new Error(`config: no flag value for ${JSON.stringify(value)}`);
}

function oneLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n', 1)[0]!;
}
