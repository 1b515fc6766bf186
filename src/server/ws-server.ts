import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocket, WebSocketServer, type RawData, type Server as WsServer } from 'ws';
import { FrameWriter, MESSAGE_ENVELOPE_BYTES } from '../protocol/framing.js';
import { MemoryStore } from '../store/memory/index.js';
import type { Store } from '../store/types.js';
import { clientAddress } from './client-address.js';
import { Hub } from './hub.js';
import type { Connection, HubSocket } from './connection.js';
import type { HubOptions, RequestHandler } from './options.js';
import { httpTimeouts } from './http-timeouts.js';
import type { AllowedOrigins } from './origins.js';
import { selectProtocol, UpgradeGate } from './upgrade.js';

export interface ServerOptions extends Omit<HubOptions, 'store'> {
  /** Where messages and sessions live. @default a new MemoryStore, closed with the server */
  store?: Store;
  /** Attach to this HTTP server (its other routes keep working). Without it, one is created. */
  server?: Server;
  /** Port to listen on when no `server` is given; 0 picks a free one. @default 8080 */
  port?: number;
  /** @default '127.0.0.1' when listening on its own */
  host?: string;
  /**
   * URL path of the WebSocket endpoint. Upgrades to other paths are left to the server's other
   * 'upgrade' listeners, or answered 404 when there are none. @default '/holdfast'
   */
  path?: string;
  /**
   * Browser origins allowed to connect, besides the same origin (an `Origin` whose host and port are
   * the request's `Host`): a list (`'https://app.example'`, `'http://localhost:*'` for any port),
   * `'*'` for every origin, or a function asked for each cross-origin upgrade. Others get HTTP 403.
   * A request without `Origin` (not a browser) is always allowed.
   * @default [] (same origin only)
   */
  allowedOrigins?: AllowedOrigins;
  /**
   * Host names the server answers to (the request's `Host` header), against DNS rebinding: a page
   * on `evil.example` whose name is made to resolve to this server's address is same-origin with
   * it as far as the browser knows. Exact names, or `.example.com` for the name and its subdomains;
   * IP literals always pass (rebinding needs a name). Others get HTTP 403.
   * @default undefined (any host; `holdfast serve` on a loopback address allows only `localhost`)
   */
  allowedHosts?: readonly string[];
  /**
   * How many proxies in front of the server to trust for `X-Forwarded-For`: the client's address
   * (for `limits.maxConnectionsPerAddress` and the `authenticate` hook's `remoteAddress`) is taken
   * that many hops from the right of the header. 0 ignores the header: without a proxy, a client
   * could write any address into it.
   * @default 0
   */
  trustedProxies?: number;
  /**
   * ms a client has to send the complete request headers of an upgrade (or any request) before the
   * server answers 408 and closes; applies to the HTTP server it creates, not to a `server` passed in.
   * @default 60000
   */
  headersTimeout?: number;
}

/**
 * The `ws` socket is the hub's HubSocket itself (ws creates its sockets from this class): an adapter
 * object of closures, or one with a getter (which V8 keeps as a dictionary), cost about 1 KB per
 * connection. Its listeners are shared functions that find the hub and connection through `this`.
 */
class HubWebSocket extends WebSocket implements HubSocket {
  hub!: Hub;
  connection!: Connection;
  /**
   * Frames written to this connection in one tick share a WebSocket message (PROTOCOL.md,
   * Transport). Frames waiting in it are not in `bufferedAmount`: at most MAX_BATCH_FRAMES or
   * MAX_BATCH_BYTES until the end of the tick, a bounded slack on the 1 MiB send-buffer limit.
   */
  private writer: FrameWriter | undefined;

  /** The hub's frames (a string and nothing else) go through the writer; anything else is ws's own send. */
  override send(data: unknown, options?: unknown, cb?: unknown): void {
    if (typeof data === 'string' && options === undefined && cb === undefined) {
      this.writer ??= new FrameWriter((message) => super.send(message));
      this.writer.send(data);
      return;
    }
    super.send(data as string, options as object, cb as () => void);
  }

  override close(code?: number, reason?: string | Buffer): void {
    this.writer?.flush(); // the frames before the close, above all the error that explains it
    super.close(code, reason);
  }

  override terminate(): void {
    this.writer?.discard();
    super.terminate();
  }

  pauseReading(): void {
    this.pause();
  }

  resumeReading(): void {
    this.resume();
  }
}

// `this` is the socket (ws only ever makes HubWebSockets here).
function onMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
  const ws = this as HubWebSocket;
  ws.hub.receive(ws.connection, isBinary ? '' : data.toString(), isBinary);
}

// Event listeners run outside any caller that could catch: what they trip over is reported, never thrown.
function onClose(this: WebSocket, code: number): void {
  const ws = this as HubWebSocket;
  try {
    ws.hub.closed(ws.connection, code);
  } catch (error) {
    ws.hub.options.onError(error);
  }
}

// 'error' precedes 'close' (e.g. a frame over maxPayload); the close does the cleaning up.
function ignore(): void {}

/** The HubWebSocket on each TCP socket, for the shared 'drain' listener (an entry is smaller than a closure). */
const onSocket = new WeakMap<Socket, HubWebSocket>();

// `this` is the TCP socket: its send buffer drained.
function onDrain(this: Socket): void {
  const ws = onSocket.get(this);
  if (ws === undefined) return;
  try {
    ws.hub.drained(ws.connection);
  } catch (error) {
    ws.hub.options.onError(error);
  }
}

/**
 * The Holdfast server on the `ws` library: a Hub whose sockets come from HTTP upgrades on `path`.
 */
export class HoldfastServer {
  readonly hub: Hub;
  readonly httpServer: Server;
  readonly path: string;
  /** Resolves once listening (at once when attached to a server the caller listens with). */
  readonly ready: Promise<void>;
  private readonly wss: WsServer<typeof HubWebSocket>;
  private readonly ownsHttpServer: boolean;
  private readonly gate: UpgradeGate<typeof HubWebSocket>;
  private readonly trustedProxies: number;
  /** The store this server made (no `store` option), which it closes with itself. */
  private readonly ownStore: Store | undefined;

  constructor(options: ServerOptions = {}) {
    this.ownStore = options.store === undefined ? new MemoryStore() : undefined;
    this.hub = new Hub({ ...options, store: options.store ?? this.ownStore! });
    this.path = options.path ?? '/holdfast';
    this.trustedProxies = options.trustedProxies ?? 0;
    this.ownsHttpServer = options.server === undefined;
    this.httpServer = options.server ?? createOwnServer(options.headersTimeout);
    this.wss = new WebSocketServer({
      WebSocket: HubWebSocket,
      noServer: true,
      maxPayload: this.hub.options.limits.maxPayload + MESSAGE_ENVELOPE_BYTES,
      perMessageDeflate: false,
      clientTracking: false,
      handleProtocols: selectProtocol,
    });
    const { onError } = this.hub.options;
    this.gate = new UpgradeGate(this.httpServer, this.wss, { path: this.path, allowedOrigins: options.allowedOrigins, allowedHosts: options.allowedHosts, onError }, (ws, request) =>
      this.accept(ws, request),
    );
    this.httpServer.on('upgrade', this.gate.listener);
    if (this.ownsHttpServer) {
      this.ready = new Promise((resolve, reject) => {
        this.httpServer.once('error', reject);
        this.httpServer.listen(options.port ?? 8080, options.host ?? '127.0.0.1', () => resolve());
      });
    } else {
      this.ready = Promise.resolve();
    }
  }

  /** The port actually listened on. */
  get port(): number {
    return (this.httpServer.address() as AddressInfo).port;
  }

  publish(topic: string, data: unknown, options?: { key?: string }): Promise<{ offset?: number }> {
    return this.hub.publish(topic, data, options);
  }

  handle(method: string, handler: RequestHandler): void {
    this.hub.handle(method, handler);
  }

  /** Closes every connection with 1001 (clients reconnect elsewhere or later), then the server. */
  async close(): Promise<void> {
    this.httpServer.off('upgrade', this.gate.listener);
    this.gate.close();
    await this.hub.close();
    await this.ownStore?.close();
    this.wss.close();
    if (this.ownsHttpServer) {
      this.httpServer.closeAllConnections?.();
      await new Promise<void>((resolve) => this.httpServer.close(() => resolve()));
    }
  }

  private accept(ws: HubWebSocket, request: IncomingMessage): void {
    const raw = (ws as unknown as { _socket: Socket })._socket;
    const { hub } = this;
    const connection = hub.open(ws, { remoteAddress: clientAddress(request, this.trustedProxies), request });
    ws.hub = hub;
    ws.connection = connection;
    ws.on('message', onMessage);
    ws.on('close', onClose);
    ws.on('error', ignore);
    onSocket.set(raw, ws);
    raw.on('drain', onDrain);
  }
}

/** The HTTP server of a HoldfastServer that listens on its own: WebSocket upgrades only. */
function createOwnServer(headersTimeout: number | undefined): Server {
  return createServer(httpTimeouts(headersTimeout), (_, response) => response.writeHead(426).end('WebSocket only\n'));
}
