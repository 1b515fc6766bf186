import { ErrorCode } from '../protocol/codes.js';
import { HoldfastError } from '../protocol/errors.js';
import { forEachFrame, FrameWriter } from '../protocol/framing.js';
import type { ClientFrame, ServerFrame } from '../protocol/frames.js';
import { decodeServerFrame, encodeFrame } from '../protocol/wire.js';

// Handlers are typed with method bivariance so that both the DOM `WebSocket` (whose handlers take
// `MessageEvent`, `CloseEvent`) and `ws`'s `WebSocket` (its own event classes) are assignable.
type Handler<E> = { bivarianceHack(event: E): void }['bivarianceHack'];

/** The part of the WebSocket API the client uses: the browser's `WebSocket` and `ws` both fit. */
export interface WebSocketLike {
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  onopen: Handler<unknown> | null;
  onmessage: Handler<{ data: unknown }> | null;
  onclose: Handler<{ code: number; reason: string }> | null;
  onerror: Handler<unknown> | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  /** `ws` only: destroys the socket without a closing handshake. Used on a dead link when present. */
  terminate?(): void;
}

/**
 * The browser's `WebSocket` or `ws`'s. The client passes the Holdfast subprotocol as `protocols`
 * (PROTOCOL.md, Transport); a constructor that ignores it still works with a Holdfast server.
 */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

const OPEN = 1;

export interface ConnectionEvents {
  open(): void;
  frame(frame: ServerFrame): void;
  /** A server message that is not a valid frame. It still proves the link is alive. */
  invalid(error: HoldfastError): void;
  close(code: number, reason: string): void;
}

/**
 * One WebSocket, speaking frames. Once the client is done with a socket (closed it, or gave up on
 * it) `close()` detaches the handlers first, so a late event from a socket the client abandoned can
 * never reach the state machine.
 */
export class Connection {
  private detached = false;
  /** Frames written in one tick share a WebSocket message (PROTOCOL.md, Transport). */
  private readonly writer = new FrameWriter((message) => {
    if (!this.isOpen) return; // abandoned or closed before the end of the tick
    try {
      this.socket.send(message);
    } catch {
      // The socket is closing; its close event follows, and the outbox resends what counts.
    }
  });

  constructor(
    private readonly socket: WebSocketLike,
    private readonly events: ConnectionEvents,
  ) {
    socket.onopen = () => events.open();
    socket.onmessage = (event) => this.receive(event.data);
    // Browsers and `ws` always follow `error` with `close`; the close carries the code we need.
    socket.onerror = noop;
    socket.onclose = (event) => {
      this.detach();
      events.close(event.code, event.reason);
    };
  }

  get isOpen(): boolean {
    return !this.detached && this.socket.readyState === OPEN;
  }

  /**
   * Writes a frame; false when the socket is not open (the frame is not sent). Frames after the
   * first of a tick go out together at its end.
   */
  send(frame: ClientFrame): boolean {
    if (!this.isOpen) return false;
    this.writer.send(encodeFrame(frame));
    return true;
  }

  /**
   * Closes the socket without telling the state machine. Without a code the socket is abandoned:
   * terminated where the implementation can (`ws`), else closed without a status (browsers), the
   * closest a browser gets when the peer may never answer the closing handshake.
   */
  close(code?: number, reason?: string): void {
    if (this.detached) return;
    // A closing handshake comes after the frames written before it; an abandoned socket takes none.
    if (code !== undefined) this.writer.flush();
    else this.writer.discard();
    this.detach();
    try {
      if (code !== undefined) this.socket.close(code, reason);
      else if (typeof this.socket.terminate === 'function') this.socket.terminate();
      else this.socket.close();
    } catch {
      // An invalid state or code must not escape: the socket is abandoned either way.
    }
  }

  private receive(data: unknown): void {
    if (typeof data !== 'string') {
      this.events.invalid(new HoldfastError(ErrorCode.MalformedFrame, 'the server sent a binary message'));
      return;
    }
    forEachFrame(data, (text) => {
      const result = decodeServerFrame(text);
      if (result.ok) this.events.frame(result.frame);
      else this.events.invalid(new HoldfastError(result.code, result.message));
      return !this.detached; // a frame may end the connection: the rest of the message is for nobody
    });
  }

  private detach(): void {
    this.detached = true;
    this.socket.onopen = null;
    this.socket.onmessage = null;
    this.socket.onclose = null;
    // Not null: `ws` throws an unhandled 'error' when a socket closed while connecting has no listener.
    this.socket.onerror = noop;
  }
}

function noop(): void {}
