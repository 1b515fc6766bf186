import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HoldfastServer, type ServerOptions } from '../server/index.js';
import type { TopicTable } from '../server/options.js';
import { bothObservers } from '../server/observer.js';
import { httpTimeouts } from '../server/http-timeouts.js';
import { hostAllowed, LOOPBACK_HOSTS, LOOPBACK_ORIGINS, type AllowedOrigins } from '../server/origins.js';
import { isIP } from 'node:net';
import { MemoryStore } from '../store/memory/index.js';
// Types only: the SQLite subpath (and better-sqlite3, an optional peer dependency) is loaded with a
// dynamic import when a data folder is asked for, so the memory store works without it.
import type { SqliteStoreOptions } from '../store/sqlite/index.js';
import type { Store } from '../store/types.js';
import { anonymousGuard, DEMO_TOPICS, describeAnonymousAccess, serverFedGuard, type AnonymousPermissions } from './access.js';
import { createPublishApi } from './http-api.js';
import { createServerMetrics } from './metrics.js';
import { createMetricsRoute } from './metrics-route.js';
import { startPriceFeed, type PriceFeedOptions } from './price-feed.js';
import { sendText, serveFile, type StaticResult } from './static.js';

export { DEMO_TOPICS, SERVER_FED_TOPICS } from './access.js';

/**
 * The package root. This file runs as src/cli/standalone.ts (tsx) or dist/cli/standalone.js (built,
 * installed): both are two folders below the root, which holds demo/ and dist/.
 */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface StandaloneOptions {
  /** 0 picks a free port; `port` on the result says which. @default 8080 */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** WebSocket endpoint. @default '/holdfast' */
  path?: string;
  /** Protects `POST /api/publish` (Authorization: Bearer KEY). */
  apiKey?: string | undefined;
  /** Protects `GET /metrics` (Authorization: Bearer KEY). @default open, like /healthz */
  metricsKey?: string | undefined;
  /**
   * Browser origins allowed to open a WebSocket and to post to the HTTP API, besides the same origin
   * (see `ServerOptions.allowedOrigins`); others get 403.
   * @default ['http://localhost:*', 'http://127.0.0.1:*', 'http://[::1]:*'] (pages served from this machine)
   */
  allowedOrigins?: AllowedOrigins;
  /**
   * Host names (the `Host` header) answered, for every route and the WebSocket, against DNS
   * rebinding (see `ServerOptions.allowedHosts`); others get 403. `null`: any host.
   * @default on a loopback `host`: `localhost`, its subdomains, IP literals and the host names of
   * `allowedOrigins` entries; on any other `host`: any host
   */
  allowedHosts?: readonly string[] | null;
  /** ms to receive a publish request's whole body; slower clients get 408 and are disconnected. @default 10000 */
  bodyTimeoutMs?: number;
  /** ms to receive any request's headers (upgrades included) before Node answers 408. @default 60000 */
  headersTimeout?: number;
  /** The demo's price ticker; `false` turns it off. @default true */
  priceFeed?: boolean | PriceFeedOptions;
  /** Folder of the demo page. @default <package>/demo */
  demoDir?: string;
  /** Folder holding the built `browser/` bundle served under /lib. @default <package>/dist */
  libDir?: string;
  /**
   * Where messages, sessions and de-duplication ids live:
   * - `'memory'` (default): a `MemoryStore`; a restart loses everything and clients are told
   *   `recovered: false`.
   * - `{ dataFolder }`: the SQLite store in that folder (`holdfast.db`, created when missing), so a
   *   restart loses nothing. Needs the optional peer dependency better-sqlite3 (see
   *   `SqliteUnavailableError`); the folder's problems reject with `HoldfastError`
   *   DATA_FOLDER_UNUSABLE, DATABASE_LOCKED or DATABASE_TOO_NEW.
   * - `{ redisUrl, keyPrefix? }`: the Redis store (several standalone servers on one Redis and
   *   prefix are one deployment). Needs the optional peer dependency ioredis (see
   *   `RedisUnavailableError`).
   * - any other `Store`: used as is, and left open by `close()` (as `HoldfastServer` does).
   *
   * `close()` closes the store it opened, after the server and the HTTP server.
   */
  store?: 'memory' | DataFolderOptions | RedisOptions | Store;
  /**
   * More server options (authenticate, limits…); `topics` replaces the demo's topics. An `authorize`
   * given here is asked after the standalone's own rule: clients never publish to the topics the
   * server feeds (`prices`).
   */
  server?: Omit<ServerOptions, 'server' | 'port' | 'host' | 'path' | 'store' | 'allowedOrigins' | 'headersTimeout'>;
  /**
   * What clients without an identity may subscribe and publish to, by topic name or `prefix*`
   * pattern; anything else is FORBIDDEN to them. Asked before `server.authorize`.
   * @default everything (but the server-fed topics)
   */
  anonymous?: AnonymousPermissions;
  /**
   * The topic table, made from the store once it is open (for snapshots read from the store);
   * replaces `server.topics`.
   */
  topicsFromStore?: (store: Store) => TopicTable;
}

/** The SQLite store in a data folder: `openDataFolder(dataFolder, options)`. */
export interface DataFolderOptions extends Omit<SqliteStoreOptions, 'file'> {
  /** Relative to the current directory; created when missing, if its parent exists. */
  dataFolder: string;
}

/** The Redis store: `new RedisStore({ url: redisUrl, keyPrefix, waitForReplicas })`. */
export interface RedisOptions {
  redisUrl: string;
  keyPrefix?: string;
  /** See RedisStoreOptions.waitForReplicas. @default no waiting */
  waitForReplicas?: { replicas: number; timeoutMs: number };
}

/** Which store a standalone server uses, for its start-up line (a Redis URL without its password). */
export type StorageInfo = { kind: 'memory' } | { kind: 'sqlite'; file: string } | { kind: 'redis'; url: string; keyPrefix: string } | { kind: 'custom' };

/** The Redis store was asked for, but ioredis (an optional peer dependency) cannot be loaded. */
export class RedisUnavailableError extends Error {
  override name = 'RedisUnavailableError';
  constructor(cause: unknown) {
    super(`the Redis store needs the ioredis package, which cannot be loaded (${firstLine(cause)})`, { cause });
  }
}

/**
 * The SQLite store was asked for, but better-sqlite3 cannot be loaded: not installed (it is an
 * optional peer dependency) or its native addon was built for another Node version.
 */
export class SqliteUnavailableError extends Error {
  override name = 'SqliteUnavailableError';
  constructor(cause: unknown) {
    super(`the SQLite store needs the better-sqlite3 package, which cannot be loaded (${firstLine(cause)})`, { cause });
  }
}

export interface Standalone {
  server: HoldfastServer;
  /** The store the server uses; `close()` closes it unless it was passed in as a `Store`. */
  store: Store;
  storage: StorageInfo;
  http: Server;
  /** What a client without credentials may do, for the start-up line: `subscribe …; publish …`. */
  anonymousAccess: string;
  /** e.g. http://127.0.0.1:8080 */
  url: string;
  /** e.g. ws://127.0.0.1:8080/holdfast */
  wsUrl: string;
  port: number;
  /**
   * Stops the feed, closes every WebSocket with 1001 (clients reconnect), then the HTTP server,
   * then the store it opened (the server saves its sessions to the store while it closes).
   */
  close(): Promise<void>;
}

/** How long close() lets HTTP requests in progress finish before it drops their connections. */
const CLOSE_GRACE_MS = 1000;

/** Mount points under /lib: only the browser bundle's folder is reachable. */
const LIB_FOLDERS = ['browser'] as const;

export async function startStandalone(options: StandaloneOptions = {}): Promise<Standalone> {
  const host = options.host ?? '127.0.0.1';
  const path = options.path ?? '/holdfast';
  const demoDir = resolve(options.demoDir ?? join(PACKAGE_ROOT, 'demo'));
  const libDir = resolve(options.libDir ?? join(PACKAGE_ROOT, 'dist'));

  // First, so that an unusable data folder fails before anything listens.
  const { store, storage } = await openStore(options.store ?? 'memory');
  const http = createServer(httpTimeouts(options.headersTimeout));
  const allowedOrigins = options.allowedOrigins ?? LOOPBACK_ORIGINS;
  const allowedHosts = options.allowedHosts === undefined ? defaultHosts(host, allowedOrigins) : (options.allowedHosts ?? undefined);
  const metrics = createServerMetrics();
  let server: HoldfastServer;
  let topics: TopicTable = DEMO_TOPICS;
  try {
    const authorize = serverFedGuard(options.anonymous === undefined ? options.server?.authorize : anonymousGuard(options.anonymous, options.server?.authorize));
    topics = options.topicsFromStore === undefined ? (options.server?.topics ?? DEMO_TOPICS) : options.topicsFromStore(store);
    // An application's own observer is told too: the metrics must not cost it its hook.
    server = new HoldfastServer({ ...options.server, observer: bothObservers(metrics.observer, options.server?.observer), topics, authorize, allowedOrigins, allowedHosts, store, server: http, path });
  } catch (error) {
    if (storage.kind !== 'custom') await store.close().catch(() => undefined);
    throw error;
  }
  metrics.attach(server.hub);
  const metricsRoute = createMetricsRoute(metrics.registry, options.metricsKey);
  const { onError } = server.hub.options;
  const publishApi = createPublishApi(server, { apiKey: options.apiKey, maxBody: 1024 * 1024, allowedOrigins, bodyTimeoutMs: options.bodyTimeoutMs, onError });

  http.on('request', (request: IncomingMessage, response: ServerResponse) => {
    route(request, response).catch((error: unknown) => {
      onError(error);
      if (!response.headersSent) sendText(response, 500, 'Internal server error');
      else response.destroy();
    });
  });

  async function route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    // A name rebound to this address must not give a page elsewhere this server's origin.
    if (!hostAllowed(request.headers.host, allowedHosts)) return sendText(response, 403, 'This host name is not served here');
    const url = request.url ?? '/';
    // The raw path, still percent-encoded: static.ts decodes it segment by segment.
    const rawPath = url.split('?', 1)[0] ?? '/';
    if (rawPath === '/api' || rawPath.startsWith('/api/')) return publishApi(request, response, rawPath);
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return sendText(response, 405, 'Method not allowed', { Allow: 'GET, HEAD' });
    }
    // For load balancers and orchestrators: the process answers, and it can serve (its store answers).
    if (rawPath === '/healthz') return sendText(response, 200, 'ok');
    if (rawPath === '/metrics') return metricsRoute(request, response);
    if (rawPath === '/readyz') return server.hub.storeAvailable ? sendText(response, 200, 'ready') : sendText(response, 503, 'the store is unavailable');
    // The page learns the WebSocket path from here, so `--path` needs no change to the demo.
    if (rawPath === '/config.json') return sendConfig(response, path);
    let result: StaticResult;
    const lib = LIB_FOLDERS.find((folder) => rawPath.startsWith(`/lib/${folder}/`));
    if (lib !== undefined) {
      result = await serveFile(request, response, join(libDir, lib), rawPath.slice(`/lib/${lib}/`.length));
    } else if (rawPath === '/' || rawPath === '/index.html') {
      result = await serveFile(request, response, demoDir, 'index.html');
    } else if (rawPath.startsWith('/lib/')) {
      result = 'not-found';
    } else {
      result = await serveFile(request, response, demoDir, rawPath);
    }
    if (result === 'refused') sendText(response, 400, 'Bad path');
    else if (result === 'not-found') sendText(response, 404, 'Not found');
  }

  await new Promise<void>((resolveListen, rejectListen) => {
    const onError = (error: Error) => rejectListen(error);
    http.once('error', onError);
    http.listen(options.port ?? 8080, host, () => {
      http.off('error', onError);
      resolveListen();
    });
  }).catch(async (error: unknown) => {
    await server.close().catch(() => undefined); // release the hub's timers
    if (storage.kind !== 'custom') await store.close().catch(() => undefined); // and the database lock
    throw error;
  });

  const feed = options.priceFeed === false ? undefined : startPriceFeed(server, options.priceFeed === true ? {} : options.priceFeed);
  const port = (http.address() as AddressInfo).port;
  // IPv6 literals need brackets in a URL.
  const authority = `${host.includes(':') ? `[${host}]` : host}:${port}`;

  let closing: Promise<void> | undefined;
  return {
    server,
    store,
    storage,
    http,
    anonymousAccess: describeAnonymousAccess({ ...options.server, topics }, options.anonymous),
    url: `http://${authority}`,
    wsUrl: `ws://${authority}${path}`,
    port,
    close() {
      closing ??= (async () => {
        feed?.stop();
        try {
          await server.close();
          await new Promise<void>((resolveClose) => {
            // A request still arriving (a slow body, headers never finished) gets a moment, then its connection goes.
            const grace = setTimeout(() => http.closeAllConnections(), CLOSE_GRACE_MS);
            http.close(() => {
              clearTimeout(grace);
              resolveClose();
            });
            // Idle keep-alive sockets would hold close() open; WebSockets are already closed.
            http.closeIdleConnections();
          });
        } finally {
          // Last: the server saved its sessions into it, and no request can reach it any more.
          // The hub leaves a store it was given open, so this is the only place it is closed
          // (and a database left open would stay locked for the life of the process).
          if (storage.kind !== 'custom') await store.close();
        }
      })();
      return closing;
    },
  };
}

/**
 * The hosts a server bound to loopback answers to: only a browser on this machine reaches it, under
 * `localhost` or an IP literal, so any other name is a DNS rebinding. Bound elsewhere, the operator
 * knows the names (`allowedHosts`); any is answered.
 */
function defaultHosts(host: string, origins: AllowedOrigins): readonly string[] | undefined {
  const bare = host.startsWith('[') ? host.slice(1, -1) : host;
  const loopback = bare === 'localhost' || bare === '::1' || (isIP(bare) === 4 && bare.startsWith('127.'));
  if (!loopback) return undefined;
  const names = Array.isArray(origins) ? origins.flatMap((origin) => originHostname(origin)) : [];
  return [...LOOPBACK_HOSTS, ...names];
}

function originHostname(entry: string): string[] {
  try {
    return [new URL(entry.endsWith(':*') ? entry.slice(0, -2) : entry).hostname];
  } catch {
    return [];
  }
}

async function openStore(choice: NonNullable<StandaloneOptions['store']>): Promise<{ store: Store; storage: StorageInfo }> {
  if (choice === 'memory') return { store: new MemoryStore(), storage: { kind: 'memory' } };
  if ('redisUrl' in choice) {
    const { RedisStore } = await loadRedis();
    const keyPrefix = choice.keyPrefix ?? 'holdfast';
    const shown = new URL(choice.redisUrl);
    if (shown.password !== '') shown.password = '***';
    const store = new RedisStore({ url: choice.redisUrl, keyPrefix, ...(choice.waitForReplicas === undefined ? {} : { waitForReplicas: choice.waitForReplicas }) });
    return { store, storage: { kind: 'redis', url: shown.toString(), keyPrefix } };
  }
  if (!('dataFolder' in choice)) return { store: choice, storage: { kind: 'custom' } };
  const { dataFolder, ...storeOptions } = choice;
  const { openDataFolder, DATABASE_FILE } = await loadSqlite();
  const store = openDataFolder(dataFolder, storeOptions);
  return { store, storage: { kind: 'sqlite', file: join(resolve(dataFolder), DATABASE_FILE) } };
}

/** The Redis subpath, loaded on first use only; ioredis is an optional peer dependency. */
async function loadRedis(): Promise<typeof import('../store/redis/index.js')> {
  try {
    await import('ioredis');
  } catch (error) {
    throw new RedisUnavailableError(error);
  }
  return import('../store/redis/index.js');
}

/** The SQLite subpath, loaded on first use only; better-sqlite3 is an optional peer dependency. */
async function loadSqlite(): Promise<typeof import('../store/sqlite/index.js')> {
  try {
    const { default: Database } = await import('better-sqlite3');
    // The native addon loads with the first database, and may be built for another Node version.
    new Database(':memory:').close();
  } catch (error) {
    throw new SqliteUnavailableError(error);
  }
  return import('../store/sqlite/index.js');
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n', 1)[0]!.trim();
}

function sendConfig(response: ServerResponse, wsPath: string): void {
  const text = JSON.stringify({ wsPath });
  response.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff' });
  response.end(text);
}

/** Whether the built browser client exists (it does not when running from source before a build). */
export function hasBuiltClient(libDir = join(PACKAGE_ROOT, 'dist')): boolean {
  return existsSync(join(libDir, 'client', 'index.js'));
}
