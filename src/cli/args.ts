import { parseArgs } from 'node:util';
import { isOriginEntry } from '../server/origins.js';
import { loadConfigFile, type FileOnlySettings } from './config.js';
import { envLayer, flagLayer, layerSettings, OPTIONS, type Settings } from './settings.js';
import { ConfigError, UsageError } from './usage-error.js';

export { UsageError } from './usage-error.js';
export type { FileOnlySettings } from './config.js';

export const USAGE = `Usage: holdfast <command> [options]

Commands:
  serve                 Run the standalone server: demo page, WebSocket endpoint, HTTP publish API

Options for serve (each also a HOLDFAST_<OPTION> variable, e.g. HOLDFAST_PORT, HOLDFAST_ALLOW_ORIGIN=a,b,
HOLDFAST_MEMORY=1, and a key of the config file; a flag wins over the variable, the variable over the file):
  -c, --config <file>   Read settings from this JSON file (or HOLDFAST_CONFIG); its schema is
                        holdfast/config-schema.json; it also sets topics, anonymous permissions and
                        limits (docs/server.md, Configuration)
  -p, --port <port>     Port to listen on; 0 picks a free one (default 8080)
      --host <host>     Interface to bind (default 127.0.0.1; 0.0.0.0 for every interface)
      --path <path>     URL path of the WebSocket endpoint (default /holdfast)
      --api-key <key>   Require "Authorization: Bearer <key>" on POST /api/publish
                        (or set HOLDFAST_API_KEY, which keeps the key out of the process list)
      --metrics-key <key>
                        Require "Authorization: Bearer <key>" on GET /metrics (or set
                        HOLDFAST_METRICS_KEY); without it /metrics is open, like /healthz
      --no-prices       Do not run the demo price feed
      --allow-origin <origin>
                        Also let pages of this origin connect and use the publish API (repeatable;
                        'https://app.example', 'http://host:*' for any port, '*' for every origin).
                        Always allowed: the same origin, http://localhost:*, http://127.0.0.1:*,
                        http://[::1]:*, and clients that send no Origin (not browsers)
      --allow-host <name>
                        Also answer requests for this host name (repeatable; '.example.com' for
                        its subdomains too, '*' for any). Bound to a loopback address, serve answers
                        only localhost and IP literals by default (against DNS rebinding)
      --trusted-proxies <n>
                        Proxies in front of serve whose X-Forwarded-For is believed: the client
                        address (for the per-address limit) is read n hops from its right (default 0:
                        the header is ignored)
      --max-connections-per-address <n>
                        Open WebSockets per client IP address; more are closed with 4429
                        (default 64; 0 for no limit, e.g. behind a proxy that hides client addresses)
      --heartbeat-interval <ms>
                        Ping a connection after this much silence (default 25000); clients give up
                        on a link silent for this plus their grace (10000 by default)
      --heartbeat-timeout <ms>
                        Drop a connection silent for the interval plus this (default 20000)

Storage (the SQLite store by default, which needs the better-sqlite3 package):
      --data <folder>   Data folder of the SQLite store, created when missing (default ./data,
                        relative to the current directory); holds holdfast.db. One server per folder.
      --memory          Keep everything in memory instead: a restart loses every message
      --synchronous <normal|full>
                        'normal' (default): a killed process loses nothing acknowledged;
                        'full': a power cut loses nothing either (an fsync per commit)
      --max-db-size <size>
                        Cap the database at this size (bytes, or with k, m or g: 500m); beyond it
                        publishes fail with STORE_FULL (default: no cap but the disk)
      --redis <url>     Keep everything in Redis (redis://[user:password@]host:port[/db]; needs the
                        ioredis package): several serve processes on one Redis and prefix are one
                        deployment, any of them resumes any session (docs/redis.md)
      --redis-prefix <prefix>
                        Prefix of every Redis key of this deployment (default holdfast)
      --redis-wait-replicas <n>
                        Acknowledge a publish only once n Redis replicas have it (WAIT); one Redis
                        with replicas, not a Cluster (default: no waiting)
      --redis-wait-timeout <ms>
                        How long to wait for them before the publish fails with STORE_UNAVAILABLE
                        and is resent by the client (default 1000)

General:
  -h, --help            Show this help
  -v, --version         Show the version

HTTP publish API (Content-Type: application/json; answers 4xx with {"error": {"code", "message"}}):
  POST /api/publish  {"topic": "chat:lobby", "data": {...}, "key": "optional"}  ->  200 {"offset": 42}
`;

/** Where `serve` keeps its data. */
export type StoreChoice =
  | { kind: 'memory' }
  | { kind: 'redis'; url: string; keyPrefix: string | undefined; waitForReplicas?: { replicas: number; timeoutMs: number } }
  | { kind: 'sqlite'; dataFolder: string; synchronous: 'normal' | 'full'; maxSizeBytes: number | undefined };

export type ServeCommand = {
  kind: 'serve';
  port: number;
  host: string;
  path: string;
  apiKey: string | undefined;
  /** Protects GET /metrics. */
  metricsKey: string | undefined;
  prices: boolean;
  store: StoreChoice;
  /** From --allow-origin, on top of the loopback origins. */
  allowedOrigins: string[];
  /** From --allow-host: undefined for serve's default, null for any host ('*'). */
  allowedHosts: string[] | null | undefined;
  /** Proxies whose X-Forwarded-For is trusted. */
  trustedProxies: number;
  /** Infinity for no limit. */
  maxConnectionsPerAddress: number;
  /** From --heartbeat-interval / --heartbeat-timeout, in ms: undefined for the server's default. */
  heartbeatInterval: number | undefined;
  heartbeatTimeout: number | undefined;
  /** What only a config file sets (topics, permissions, limits…); absent without a file. */
  fileOnly?: FileOnlySettings;
};

export type Command = { kind: 'help' } | { kind: 'version' } | ServeCommand;

/** `serve`'s per-address WebSocket limit when --max-connections-per-address is not given. */
export const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS = 64;

/** The data folder when neither --data nor --memory is given, relative to the current directory. */
export const DEFAULT_DATA_FOLDER = './data';

/** Reads the config file named by --config or HOLDFAST_CONFIG; main passes fs, tests a fake. */
export type ReadConfig = (path: string) => string;

/**
 * Parses the command line (without `node` and the script), then layers the environment
 * (`HOLDFAST_*`) and the config file under it: flags win over env, env over the file, the file
 * over the defaults. Pure but for `readConfig`, so the rules are testable without a process.
 */
export function parseCommand(argv: string[], env: Record<string, string | undefined> = {}, readConfig?: ReadConfig): Command {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, options: OPTIONS });
  } catch (error) {
    // parseArgs explains itself well, but its text for an unknown option runs on about `--`.
    throw new UsageError(firstSentence(error instanceof Error ? error.message : String(error)));
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: 'help' };
  if (values.version) return { kind: 'version' };

  const [command, ...rest] = positionals;
  if (command === undefined) throw new UsageError('no command given');
  if (command !== 'serve') throw new UsageError(`unknown command '${command}'`);
  if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}'`);

  const { config, help: _help, version: _version, ...flags } = values;
  const configPath = config ?? env.HOLDFAST_CONFIG;
  if (configPath === '') throw new UsageError(`${config === undefined ? 'HOLDFAST_CONFIG' : '--config'} must not be empty`);
  const file = configPath === undefined ? undefined : loadConfigFile(configPath, readConfig);
  const settings = layerSettings([flagLayer(flags), envLayer(env), ...(file === undefined ? [] : [file.layer])]);
  let serve: ServeCommand;
  try {
    serve = serveCommand(settings);
  } catch (error) {
    // A file's value that fails the flag's own check: one line naming the file and key, as the schema's.
    if (error instanceof UsageError && configPath !== undefined && error.message.startsWith(`${configPath}: `)) throw new ConfigError(error.message);
    throw error;
  }
  return file?.fileOnly === undefined ? serve : { ...serve, fileOnly: file.fileOnly };
}

/** Turns merged settings into the command, checking each value; errors name where it came from. */
function serveCommand(settings: Settings): ServeCommand {
  const { name } = settings;
  const path = settings.text('path') ?? '/holdfast';
  if (!path.startsWith('/') || /[\s?#]/.test(path)) throw new UsageError(`${name('path')} must start with '/' and hold no spaces, '?' or '#': '${path}'`);
  const host = settings.text('host') ?? '127.0.0.1';
  if (host === '') throw new UsageError(`${name('host')} must not be empty`);
  const apiKey = settings.text('api-key');
  if (apiKey === '') throw new UsageError(`${name('api-key')} must not be empty`);
  const metricsKey = settings.text('metrics-key');
  // An empty key would read as no key: /metrics open when the operator meant it closed.
  if (metricsKey === '') throw new UsageError(`${name('metrics-key')} must not be empty`);

  const allowedOrigins = settings.list('allow-origin') ?? [];
  for (const origin of allowedOrigins) {
    if (!isOriginEntry(origin)) throw new UsageError(`${name('allow-origin')} must be an origin such as https://app.example, http://host:* or '*': '${origin}'`);
  }
  const hosts = settings.list('allow-host');
  for (const host of hosts ?? []) {
    if (host !== '*' && !/^\.?[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/i.test(host)) throw new UsageError(`${name('allow-host')} must be a host name such as app.example, .example.com or '*': '${host}'`);
  }
  const allowedHosts = hosts === undefined ? undefined : hosts.includes('*') ? null : hosts;
  return {
    kind: 'serve',
    port: parsePort(name('port'), settings.text('port')),
    host,
    path,
    apiKey,
    metricsKey,
    prices: !settings.flag('no-prices'),
    store: parseStore(settings),
    allowedOrigins,
    allowedHosts,
    trustedProxies: parseProxyCount(name('trusted-proxies'), settings.text('trusted-proxies')),
    maxConnectionsPerAddress: parseConnectionLimit(name('max-connections-per-address'), settings.text('max-connections-per-address')),
    heartbeatInterval: parseMilliseconds(name('heartbeat-interval'), settings.text('heartbeat-interval')),
    heartbeatTimeout: parseMilliseconds(name('heartbeat-timeout'), settings.text('heartbeat-timeout')),
  };
}

/** A heartbeat time: whole ms from 100 (below that the one-second sweeper cannot keep up anyway) to an hour. */
function parseMilliseconds(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ms = /^\d{1,7}$/.test(text) ? Number(text) : NaN;
  if (!(ms >= 100 && ms <= 3_600_000)) throw new UsageError(`${name} must be a whole number of ms from 100 to 3600000: '${text}'`);
  return ms;
}

function parseProxyCount(name: string, text: string | undefined): number {
  if (text === undefined) return 0;
  if (!/^\d{1,2}$/.test(text)) throw new UsageError(`${name} must be a number of proxies from 0 to 99: '${text}'`);
  return Number(text);
}

function parseConnectionLimit(name: string, text: string | undefined): number {
  if (text === undefined) return DEFAULT_MAX_CONNECTIONS_PER_ADDRESS;
  const limit = /^\d{1,9}$/.test(text) ? Number(text) : NaN;
  if (Number.isNaN(limit)) throw new UsageError(`${name} must be a whole number (0 for no limit): '${text}'`);
  return limit === 0 ? Infinity : limit;
}

/** The Redis store's WAIT: under the store's command timeout (5 s), which would otherwise cut it short. */
function parseReplicaWait(settings: Settings): { replicas: number; timeoutMs: number } | undefined {
  const { name } = settings;
  const replicasText = settings.text('redis-wait-replicas');
  const timeoutText = settings.text('redis-wait-timeout');
  if (replicasText === undefined) {
    if (timeoutText !== undefined) throw new UsageError(`${name('redis-wait-timeout')} needs ${name('redis-wait-replicas')}`);
    return undefined;
  }
  const replicas = Number(replicasText);
  if (!/^\d+$/.test(replicasText) || replicas < 1) throw new UsageError(`${name('redis-wait-replicas')} must be a whole number of at least 1: '${replicasText}'`);
  const timeoutMs = timeoutText === undefined ? 1000 : Number(timeoutText);
  if (timeoutText !== undefined && (!/^\d+$/.test(timeoutText) || timeoutMs < 1 || timeoutMs >= 5000)) {
    throw new UsageError(`${name('redis-wait-timeout')} must be a whole number of milliseconds from 1 to 4999: '${timeoutText}'`);
  }
  return { replicas, timeoutMs };
}

function parseStore(settings: Settings): StoreChoice {
  const { name } = settings;
  const redis = settings.text('redis');
  if (redis !== undefined) {
    // Silently ignoring one of them would leave the operator unsure where the messages went.
    for (const flag of ['memory', 'data', 'synchronous', 'max-db-size'] as const) {
      if (settings.given(flag)) throw new UsageError(`${name(flag)} cannot be combined with ${name('redis')}`);
    }
    let url: URL;
    try {
      url = new URL(redis);
    } catch {
      throw new UsageError(`${name('redis')} must be a URL such as redis://127.0.0.1:6379: '${redis}'`);
    }
    if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new UsageError(`${name('redis')} must be a redis:// or rediss:// URL: '${redis}'`);
    const keyPrefix = settings.text('redis-prefix');
    if (keyPrefix !== undefined && (keyPrefix === '' || /[{}]/.test(keyPrefix))) throw new UsageError(`${name('redis-prefix')} must be non-empty, without { or }: '${keyPrefix}'`);
    const waitForReplicas = parseReplicaWait(settings);
    return waitForReplicas === undefined ? { kind: 'redis', url: redis, keyPrefix } : { kind: 'redis', url: redis, keyPrefix, waitForReplicas };
  }
  for (const flag of ['redis-prefix', 'redis-wait-replicas', 'redis-wait-timeout'] as const) {
    if (settings.given(flag)) throw new UsageError(`${name(flag)} applies to the Redis store: give --redis too`);
  }
  if (settings.flag('memory')) {
    // Silently ignoring one of them would leave the operator unsure where the messages went.
    for (const flag of ['data', 'synchronous', 'max-db-size'] as const) {
      if (settings.given(flag)) throw new UsageError(`${name(flag)} applies to the SQLite store and cannot be combined with ${name('memory')}`);
    }
    return { kind: 'memory' };
  }
  const dataFolder = settings.text('data') ?? DEFAULT_DATA_FOLDER;
  if (dataFolder === '') throw new UsageError(`${name('data')} must not be empty`);
  const synchronous = settings.text('synchronous') ?? 'normal';
  if (synchronous !== 'normal' && synchronous !== 'full') throw new UsageError(`${name('synchronous')} must be 'normal' or 'full': '${synchronous}'`);
  const maxSize = settings.text('max-db-size');
  const maxSizeBytes = maxSize === undefined ? undefined : parseSize(name('max-db-size'), maxSize);
  return { kind: 'sqlite', dataFolder, synchronous, maxSizeBytes };
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** `65536`, `64k`, `500m`, `2g` (binary units; a trailing `b` or `ib` is allowed: `500MiB`). */
function parseSize(name: string, text: string): number {
  const match = /^(\d+)\s*(?:([kmg])(?:ib|b)?|b)?$/i.exec(text.trim());
  const bytes = match === null ? NaN : Number(match[1]) * SIZE_UNITS[(match[2] ?? '').toLowerCase()]!;
  // Below a few pages SQLite cannot even hold its schema.
  if (!(Number.isSafeInteger(bytes) && bytes >= 65536)) {
    throw new UsageError(`${name} must be a size of at least 64k, in bytes or with k, m or g (500m): '${text}'`);
  }
  return bytes;
}

function parsePort(name: string, text: string | undefined): number {
  if (text === undefined) return 8080;
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port >= 0 && port <= 65535)) throw new UsageError(`${name} must be a number from 0 to 65535: '${text}'`);
  return port;
}

function firstSentence(message: string): string {
  const end = message.indexOf('. ');
  return (end === -1 ? message : message.slice(0, end)).replace(/\.$/, '');
}
