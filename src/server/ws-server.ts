import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { FrameWriter } from '../protocol/framing.js';
import { Hub } from './hub.js';
import type { HubSocket } from './connection.js';
import type { HubOptions, RequestHandler } from './options.js';

export interface ServerOptions extends HubOptions {
  /** Attach to this HTTP server (its other routes keep working). Without it, one is created. */
  server?: Server;
  /** Port to listen on when no `server` is given; 0 picks a free one. @default 8080 */
  port?: number;
  /** @default '127.0.0.1' when listening on its own */
  host?: string;
  /** URL path of the WebSocket endpoint. @default '/holdfast' */
  path?: string;
}

/** Room for the frame around `data`: the WebSocket layer's own limit is maxPayload plus this. */
const ENVELOPE_BYTES = 64 * 1024;

/**
 * The Holdfast server on the `ws` library: a Hub whose sockets come from HTTP upgrades on `path`.
 */
export class HoldfastServer {
  readonly hub: Hub;
  readonly httpServer: Server;
  readonly path: string;
  /** Resolves once listening (at once when attached to a server the caller listens with). */
  readonly ready: Promise<void>;
  private readonly wss: WebSocketServer;
  private readonly ownsHttpServer: boolean;
  private readonly onUpgrade: (request: IncomingMessage, socket: Duplex, head: Buffer) => void;

  constructor(options: ServerOptions = {}) {
    this.hub = new Hub(options);
    this.path = options.path ?? '/holdfast';
    this.ownsHttpServer = options.server === undefined;
    this.httpServer = options.server ?? createServer((_, response) => response.writeHead(426).end('WebSocket only\n'));
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.hub.options.limits.maxPayload + ENVELOPE_BYTES,
      perMessageDeflate: false,
      clientTracking: false,
    });
    this.onUpgrade = (request, socket, head) => {
      if (new URL(request.url ?? '/', 'http://localhost').pathname !== this.path) return; // another handler's path
      this.wss.handleUpgrade(request, socket, head, (ws) => this.accept(ws, request));
    };
    this.httpServer.on('upgrade', this.onUpgrade);
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
    this.httpServer.off('upgrade', this.onUpgrade);
    await this.hub.close();
    this.wss.close();
    if (this.ownsHttpServer) {
      this.httpServer.closeAllConnections?.();
      await new Promise<void>((resolve) => this.httpServer.close(() => resolve()));
    }
  }

  private accept(ws: WebSocket, request: IncomingMessage): void {
    const raw = (ws as unknown as { _socket: import('node:net').Socket })._socket;
    // Frames written to this connection in one tick share a WebSocket message (PROTOCOL.md, Transport).
    const writer = new FrameWriter((message) => ws.send(message));
    const socket: HubSocket = {
      send: (text) => writer.send(text),
      close: (code, reason) => {
        writer.flush(); // the frames before the close, above all the error that explains it
        ws.close(code, reason);
      },
      terminate: () => {
        writer.discard();
        ws.terminate();
      },
      get bufferedAmount() {
        return ws.bufferedAmount + writer.bufferedBytes;
      },
      pauseReading: () => ws.pause(),
      resumeReading: () => ws.resume(),
    };
    const connection = this.hub.open(socket, { remoteAddress: request.socket.remoteAddress, request });
    ws.on('message', (data: RawData, isBinary: boolean) => this.hub.receive(connection, isBinary ? '' : data.toString(), isBinary));
    ws.on('close', () => this.hub.closed(connection));
    // 'error' precedes 'close' (e.g. a frame over maxPayload); the close does the cleaning up.
    ws.on('error', () => undefined);
    raw.on('drain', () => this.hub.drained(connection));
  }
}
