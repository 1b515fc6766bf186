import { STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Server as WsServer, WebSocket } from 'ws';
import { SUBPROTOCOL } from '../protocol/subprotocol.js';
import { hostAllowed, originAllowed, type AllowedOrigins } from './origins.js';

export interface UpgradeGateOptions {
  /** URL path of the WebSocket endpoint. */
  path: string;
  allowedOrigins: AllowedOrigins | undefined;
  allowedHosts: readonly string[] | undefined;
  /** Errors of our own code while handling an upgrade (the request is answered 400). */
  onError: (error: unknown) => void;
}

/**
 * The HTTP side of a WebSocket connection, from the 'upgrade' event until `ws` hands over the socket:
 * path, origin and subprotocol checks, an answer (400, 403, 404) for every upgrade it refuses, and
 * the sockets in between, so that `close()` does not wait on a client that never finishes.
 */
export class UpgradeGate<W extends typeof WebSocket> {
  /** Sockets taken from the HTTP server and not yet accepted as WebSockets (nor closed). */
  private readonly pending = new Set<Duplex>();
  private closed = false;

  /** The 'upgrade' listener; it never throws. */
  readonly listener = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    // Node takes its own 'error' listener off an upgraded socket: without one a reset would crash the process.
    socket.on('error', destroySocket);
    try {
      this.upgrade(request, socket, head);
    } catch (error) {
      this.options.onError(error);
      refuse(socket, 400);
    }
  };

  constructor(
    private readonly httpServer: Server,
    private readonly wss: WsServer<W>,
    private readonly options: UpgradeGateOptions,
    private readonly accept: (ws: InstanceType<W>, request: IncomingMessage) => void,
  ) {}

  /** Refuses further upgrades (503) and destroys the sockets still between upgrade and WebSocket. */
  close(): void {
    this.closed = true;
    for (const socket of this.pending) socket.destroy();
    this.pending.clear();
  }

  private upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const pathname = pathOf(request.url);
    if (pathname !== this.options.path) {
      // Another 'upgrade' listener may serve this path (ours is one of the listeners).
      if (this.httpServer.listenerCount('upgrade') <= 1) refuse(socket, pathname === undefined ? 400 : 404);
      return;
    }
    if (this.closed) return refuse(socket, 503);
    // A refused host or origin is the gate working, not a server error: no onError.
    if (!hostAllowed(request.headers.host, this.options.allowedHosts)) return refuse(socket, 403, 'this host name is not served here');
    if (!originAllowed(request, this.options.allowedOrigins)) return refuse(socket, 403);
    const offered = offeredProtocols(request.headers['sec-websocket-protocol']);
    if (offered.length > 0 && !offered.includes(SUBPROTOCOL)) return refuse(socket, 400, `offer the ${SUBPROTOCOL} subprotocol, or none`);
    this.pending.add(socket);
    const forget = () => this.pending.delete(socket);
    socket.once('close', forget);
    this.wss.handleUpgrade(request, socket, head, (ws) => {
      // Off again: a closure kept for the connection's whole life would cost memory per connection.
      socket.off('close', forget);
      forget();
      if (this.closed) return ws.terminate();
      try {
        this.accept(ws, request);
      } catch (error) {
        // The 101 is written: an HTTP answer would be garbage in the WebSocket stream.
        this.options.onError(error);
        ws.terminate();
      }
    });
  }
}

/** `ws`'s handleProtocols: selects the Holdfast subprotocol (the gate already refused other offers). */
export function selectProtocol(protocols: Set<string>): string | false {
  return protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false;
}

/** The path of a request-target, or undefined when the URL parser rejects it. */
function pathOf(target: string | undefined): string | undefined {
  try {
    return new URL(target ?? '/', 'http://localhost').pathname;
  } catch {
    return undefined;
  }
}

function offeredProtocols(header: string | undefined): string[] {
  if (header === undefined) return [];
  return header
    .split(',')
    .map((token) => token.trim())
    .filter((token) => token !== '');
}

/** Answers an upgrade it will not serve and closes the socket once the answer is written. */
function refuse(socket: Duplex, status: number, detail?: string): void {
  if (!socket.writable) return void socket.destroy();
  const body = `${detail ?? STATUS_CODES[status] ?? 'Refused'}\n`;
  socket.once('finish', destroySocket);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
      'Connection: close\r\nContent-Type: text/plain; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

function destroySocket(this: Duplex): void {
  this.destroy();
}
