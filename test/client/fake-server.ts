import type { ClientFrame, ServerFrame, WelcomeFrame } from '../../src/protocol/frames.js';
import type { ClientEnvironment, WebSocketConstructor, WebSocketLike } from '../../src/client/index.js';

type Handler<E> = ((event: E) => void) | null;

/**
 * One in-process socket. The client sees a browser-like WebSocket; the test plays the server:
 * `accept()`, `push()` frames, read `sent` frames, `drop()` the connection.
 */
export class FakeSocket implements WebSocketLike {
  readyState = 0;
  onopen: Handler<unknown> = null;
  onmessage: Handler<{ data: unknown }> = null;
  onclose: Handler<{ code: number; reason: string }> = null;
  onerror: Handler<unknown> = null;
  /** Raw text the client wrote. */
  readonly raw: string[] = [];
  /** Arguments of the client's `close()` call, if it made one. */
  closedByClient: { code: number | undefined; reason: string | undefined } | undefined;
  private read = 0;

  constructor(readonly url: string) {}

  // ---- the client's side ----

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('InvalidStateError: socket not open');
    this.raw.push(data);
  }

  close(code?: number, reason?: string): void {
    this.closedByClient ??= { code, reason };
    if (this.readyState >= 2) return;
    this.readyState = 2;
    // Like a browser: the close event comes later.
    queueMicrotask(() => {
      this.readyState = 3;
      this.onclose?.({ code: code ?? 1005, reason: reason ?? '' });
    });
  }

  // ---- the server's side ----

  /** Every frame the client sent on this socket (a message may hold several, one per line). */
  get sent(): ClientFrame[] {
    return this.raw.flatMap((text) => text.split('\n').map((line) => JSON.parse(line) as ClientFrame));
  }

  /** Frames sent since the previous `take()`. */
  take(): ClientFrame[] {
    const sent = this.sent;
    const frames = sent.slice(this.read);
    this.read = sent.length;
    return frames;
  }

  sentOf<T extends ClientFrame['type']>(type: T): Array<Extract<ClientFrame, { type: T }>> {
    return this.sent.filter((f): f is Extract<ClientFrame, { type: T }> => f.type === type);
  }

  get isOpen(): boolean {
    return this.readyState === 1;
  }

  accept(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  push(frame: ServerFrame | Record<string, unknown> | string): void {
    if (this.readyState !== 1) throw new Error('push on a socket that is not open');
    this.onmessage?.({ data: typeof frame === 'string' ? frame : JSON.stringify(frame) });
  }

  welcome(overrides: Partial<WelcomeFrame> = {}): void {
    this.push({ ...welcomeFrame(), ...overrides });
  }

  /** The server (or the network) ends the connection. */
  drop(code = 1006, reason = ''): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    if (code === 1006) this.onerror?.({});
    this.onclose?.({ code, reason });
  }
}

export function welcomeFrame(): WelcomeFrame {
  return {
    type: 'welcome',
    v: 1,
    session: 's1',
    token: 't1',
    resumed: false,
    heartbeat: { interval: 25_000, timeout: 20_000 },
    limits: { maxPayload: 1024 * 1024, maxDepth: 64, maxSubscriptions: 100, maxInFlight: 1000 },
  };
}

/** Hands out FakeSockets through an injectable WebSocket constructor. */
export class FakeServer {
  readonly sockets: FakeSocket[] = [];
  /** Set to make the next constructions throw (e.g. an invalid URL). */
  refuseConstruction: Error | undefined;
  readonly WebSocket: WebSocketConstructor;

  constructor() {
    const server = this;
    this.WebSocket = class extends FakeSocket {
      constructor(url: string) {
        if (server.refuseConstruction !== undefined) throw server.refuseConstruction;
        super(url);
        server.sockets.push(this);
      }
    };
  }

  get last(): FakeSocket {
    const socket = this.sockets.at(-1);
    if (socket === undefined) throw new Error('no socket was created');
    return socket;
  }
}

/** A host whose connectivity the test controls. */
export class FakeEnvironment implements ClientEnvironment {
  online = true;
  private readonly onlineListeners = new Set<() => void>();
  private readonly visibleListeners = new Set<() => void>();
  private readonly offlineListeners = new Set<() => void>();

  isOnline(): boolean {
    return this.online;
  }

  onOnline(callback: () => void): () => void {
    this.onlineListeners.add(callback);
    return () => this.onlineListeners.delete(callback);
  }

  onVisible(callback: () => void): () => void {
    this.visibleListeners.add(callback);
    return () => this.visibleListeners.delete(callback);
  }

  onOffline(callback: () => void): () => void {
    this.offlineListeners.add(callback);
    return () => this.offlineListeners.delete(callback);
  }

  goOffline(): void {
    this.online = false;
    for (const listener of [...this.offlineListeners]) listener();
  }

  goOnline(): void {
    this.online = true;
    for (const listener of [...this.onlineListeners]) listener();
  }

  becomeVisible(): void {
    for (const listener of [...this.visibleListeners]) listener();
  }

  get listenerCount(): number {
    return this.onlineListeners.size + this.visibleListeners.size + this.offlineListeners.size;
  }
}

/** Lets pending promise callbacks (async url/auth providers, fake close events) run. */
export function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
