import type { Clock, TimerHandle } from '../protocol/clock.js';
import { CloseCode } from '../protocol/codes.js';
import type { HoldfastError } from '../protocol/errors.js';
import { PROTOCOL_VERSION, type ClientFrame, type HelloFrame, type ServerFrame } from '../protocol/frames.js';
import { SUBPROTOCOL } from '../protocol/subprotocol.js';
import { Connection, type WebSocketConstructor } from './socket.js';
import { describeError } from './emitter.js';

export interface ConnectAttemptOptions {
  url: () => string | Promise<string>;
  auth: () => unknown;
  WebSocket: WebSocketConstructor;
  clock: Clock;
  connectTimeout: number;
  /** Session to resume: the id and the newest token the client received. */
  resume: { session: string; token: string } | undefined;
}

export interface ConnectAttemptEvents {
  frame(frame: ServerFrame): void;
  /** A server message that is not a valid frame. */
  invalid(error: HoldfastError): void;
  /** Reported once: the socket closed, could not be created, or the connect timeout passed. */
  lost(code: number, reason: string): void;
}

/**
 * One connection attempt and, once welcomed, the connection itself: resolves the URL and the
 * credentials (both may be async providers), opens the socket, sends `hello`, and gives up when the
 * socket has not opened and been welcomed within `connectTimeout`.
 *
 * After `close()` or a reported loss nothing of this attempt reaches the client again, however late
 * a provider resolves or a socket event fires.
 */
export class ConnectAttempt {
  private connection: Connection | undefined;
  private timer: TimerHandle | undefined;
  private ended = false;

  constructor(
    private readonly options: ConnectAttemptOptions,
    private readonly events: ConnectAttemptEvents,
  ) {}

  /** Begins the attempt. Separate from the constructor so the owner holds the object first. */
  start(): void {
    this.timer = this.options.clock.setTimeout(() => {
      this.timer = undefined;
      this.fail(CloseCode.Abnormal, 'connect timeout');
    }, this.options.connectTimeout);
    void this.open();
  }

  /** The socket is open (it may not be welcomed yet). */
  get isOpen(): boolean {
    return this.connection?.isOpen ?? false;
  }

  /** The `welcome` arrived: the connect timeout no longer applies. */
  welcomed(): void {
    this.clearTimer();
  }

  send(frame: ClientFrame): boolean {
    return !this.ended && this.connection !== undefined && this.connection.send(frame);
  }

  /** Ends the attempt without reporting a loss. No code: abandon the socket (see Connection.close). */
  close(code?: number, reason?: string): void {
    if (this.ended) return;
    this.ended = true;
    this.clearTimer();
    this.connection?.close(code, reason);
  }

  private async open(): Promise<void> {
    try {
      const [url, auth] = await Promise.all([this.options.url(), this.options.auth()]);
      if (this.ended) return;
      const socket = new this.options.WebSocket(url, SUBPROTOCOL);
      this.connection = new Connection(socket, {
        open: () => this.connection?.send(this.hello(auth)),
        frame: (frame) => this.events.frame(frame),
        invalid: (error) => this.events.invalid(error),
        close: (code, reason) => this.fail(code, reason),
      });
    } catch (error) {
      // A failing url/auth provider or WebSocket constructor is a failed attempt like any other.
      this.fail(CloseCode.Abnormal, `connection attempt failed: ${describeError(error)}`);
    }
  }

  private hello(auth: unknown): HelloFrame {
    const frame: HelloFrame = { type: 'hello', v: PROTOCOL_VERSION };
    if (auth !== undefined) frame.auth = auth;
    if (this.options.resume !== undefined) frame.resume = { ...this.options.resume };
    return frame;
  }

  private fail(code: number, reason: string): void {
    if (this.ended) return;
    this.close();
    this.events.lost(code, reason);
  }

  private clearTimer(): void {
    if (this.timer === undefined) return;
    this.options.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
