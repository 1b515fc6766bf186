import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HoldfastServer, type ServerOptions } from '../server/index.js';
import { createPublishApi } from './http-api.js';
import { startPriceFeed, type PriceFeedOptions } from './price-feed.js';
import { sendText, serveFile, type StaticResult } from './static.js';

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
  /** The demo's price ticker; `false` turns it off. @default true */
  priceFeed?: boolean | PriceFeedOptions;
  /** Folder of the demo page. @default <package>/demo */
  demoDir?: string;
  /** Folder holding the built `client/` and `protocol/` served under /lib. @default <package>/dist */
  libDir?: string;
  /** More server options (store, authenticate, limits…); `topics` replaces the demo's topics. */
  server?: Omit<ServerOptions, 'server' | 'port' | 'host' | 'path'>;
}

export interface Standalone {
  server: HoldfastServer;
  http: Server;
  /** e.g. http://127.0.0.1:8080 */
  url: string;
  /** e.g. ws://127.0.0.1:8080/holdfast */
  wsUrl: string;
  port: number;
  /** Stops the feed, closes every WebSocket with 1001 (clients reconnect), then the HTTP server. */
  close(): Promise<void>;
}

/** The topics of the demo: a chat that loses nothing, a ticker that wants the latest, typing hints. */
export const DEMO_TOPICS: NonNullable<ServerOptions['topics']> = {
  'chat:*': { mode: 'reliable' },
  prices: { mode: 'latest' },
  'typing:*': { mode: 'volatile' },
};

/** Mount points under /lib: only these two built folders are reachable. */
const LIB_FOLDERS = ['client', 'protocol'] as const;

export async function startStandalone(options: StandaloneOptions = {}): Promise<Standalone> {
  const host = options.host ?? '127.0.0.1';
  const path = options.path ?? '/holdfast';
  const demoDir = resolve(options.demoDir ?? join(PACKAGE_ROOT, 'demo'));
  const libDir = resolve(options.libDir ?? join(PACKAGE_ROOT, 'dist'));

  const http = createServer();
  const server = new HoldfastServer({ topics: DEMO_TOPICS, ...options.server, server: http, path });
  const publishApi = createPublishApi(server, { apiKey: options.apiKey, maxBody: 1024 * 1024 });

  http.on('request', (request: IncomingMessage, response: ServerResponse) => {
    route(request, response).catch((error: unknown) => {
      console.error('[holdfast] http:', error);
      if (!response.headersSent) sendText(response, 500, 'Internal server error');
      else response.destroy();
    });
  });

  async function route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = request.url ?? '/';
    // The raw path, still percent-encoded: static.ts decodes it segment by segment.
    const rawPath = url.split('?', 1)[0] ?? '/';
    if (rawPath === '/api' || rawPath.startsWith('/api/')) return publishApi(request, response, rawPath);
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return sendText(response, 405, 'Method not allowed', { Allow: 'GET, HEAD' });
    }
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
    await server.close().catch(() => undefined); // release the hub's timers and store
    throw error;
  });

  const feed = options.priceFeed === false ? undefined : startPriceFeed(server, options.priceFeed === true ? {} : options.priceFeed);
  const port = (http.address() as AddressInfo).port;
  // IPv6 literals need brackets in a URL.
  const authority = `${host.includes(':') ? `[${host}]` : host}:${port}`;

  let closing: Promise<void> | undefined;
  return {
    server,
    http,
    url: `http://${authority}`,
    wsUrl: `ws://${authority}${path}`,
    port,
    close() {
      closing ??= (async () => {
        feed?.stop();
        await server.close();
        await new Promise<void>((resolveClose) => {
          http.close(() => resolveClose());
          // Idle keep-alive sockets would hold close() open; WebSockets are already closed.
          http.closeIdleConnections();
        });
      })();
      return closing;
    },
  };
}

function sendConfig(response: ServerResponse, wsPath: string): void {
  const text = JSON.stringify({ wsPath });
  response.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-cache' });
  response.end(text);
}

/** Whether the built browser client exists (it does not when running from source before a build). */
export function hasBuiltClient(libDir = join(PACKAGE_ROOT, 'dist')): boolean {
  return existsSync(join(libDir, 'client', 'index.js'));
}
