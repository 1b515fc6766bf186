import type { IncomingMessage } from 'node:http';
import { CloseCode, ErrorCode, MAX_NAME_LENGTH, encodeFrame, type ServerFrame, type TimerHandle } from '../protocol/index.js';
import { Congestion, RepliesBacklog, type EarlyFrames } from './held-input.js';
import type { Identity } from './options.js';
import { RateLimiter } from './rate-limiter.js';
import type { Session } from './session.js';
import type { ServerSubscription } from './subscription.js';

/** The five things the hub needs of a transport's socket (graphql-ws style). */
export interface HubSocket {
  send(text: string): void;
  close(code: number, reason: string): void;
  /** Drops the connection without a closing handshake (dead peer). */
  terminate(): void;
  readonly bufferedAmount: number;
  /** Stops and restarts reading frames (throttling); optional for transports that cannot. */
  pauseReading?(): void;
  resumeReading?(): void;
}

export interface ConnectionInfo {
  remoteAddress?: string;
  /** The HTTP upgrade request; released once `hello` is authenticated. */
  request?: IncomingMessage;
}

/**
 * - `greeting`: accepted; waiting for `hello`.
 * - `authenticating`: `hello` arrived; authentication and the session lookup run (frames wait).
 * - `open`: `welcome` sent; frames are handled.
 * - `closed`: final; what still arrives is ignored.
 */
export type ConnectionState = 'greeting' | 'authenticating' | 'open' | 'closed';

/** Every allowed transition, in one place (PROTOCOL.md, Flows: Connect, follows it). */
const TRANSITIONS: Readonly<Record<ConnectionState, readonly ConnectionState[]>> = {
  greeting: ['authenticating', 'closed'],
  authenticating: ['open', 'closed'],
  open: ['closed'],
  closed: [],
};

/** Most characters of client input an error frame repeats (a topic, and the message). */
const MAX_ERROR_MESSAGE = 1024;

/**
 * Why reading is paused: the frame rate limit, a send buffer over its limit (the client does not
 * read what it asked for), or too much input still being processed. (At the kept-reply limit the
 * connection keeps reading: see RepliesBacklog.)
 */
export type ReadHold = 'rate' | 'buffer' | 'inflight';
const READ_HOLD_BITS: Record<ReadHold, number> = { rate: 1, buffer: 2, inflight: 4 };

/** The send-buffer bounds and the close hook: one object shared by every connection of a hub. */
export interface ConnectionContext {
  /** Over this many buffered bytes the connection is congested: reading stops until it drains. */
  readonly soft: number;
  /** A frame that would take the buffer past this is not written, and `overflow` is called. */
  readonly hard: number;
  /** Bytes of input a congested connection may have read and not yet handled. */
  readonly heldInput: number;
  /** The connection closed (whichever side closed it): the hub lets go of what it holds. */
  closed(connection: Connection): void;
}

/** One WebSocket connection as the hub sees it. */
export class Connection {
  private current: ConnectionState = 'greeting';
  session: Session<Connection> | null = null;
  identity: Identity | null = null;
  readonly subscriptions = new Map<string, ServerSubscription<Connection>>();
  /**
   * Frames that arrived while `hello` was being authenticated, handled once it is done. Created
   * only when one does (our client sends none): every Map, Set or array costs each idle connection.
   */
  early: EarlyFrames | undefined;
  /** Set while the send buffer is over the soft bound; holds the input read meanwhile. */
  congestion: Congestion | undefined;
  /** Set while the session is at its kept-reply limit: frames that could add replies wait in it. */
  repliesBacklog: RepliesBacklog | undefined;
  /** `authorize` answers, keyed by action and topic; created on the first (only with an `authorize` hook). */
  authorizations: Map<string, boolean | Promise<boolean>> | undefined;

  // Liveness, folded into timestamps by the sweeper so that sending costs no clock read.
  sentSinceSweep = false;
  receivedSinceSweep = false;
  lastSentAt: number;
  lastReceivedAt: number;
  readonly openedAt: number;

  /** Set while reading is paused by the rate limit: the one timer that resumes it. */
  resumeTimer: TimerHandle | undefined;
  /** When the client was last told RATE_LIMITED. */
  rateLimitedAt = -Infinity;
  /** Why reading is paused, as ReadHold bits (a number, not a Set per connection); it resumes at 0. */
  private readHolds = 0;
  readonly rate: RateLimiter;
  /** Topics this connection may still create (limits.topicCreation); created with its first stored publish. */
  topicBudget: RateLimiter | undefined;
  /** The close code this server sent (`fail`), reported to the hub's observer when the connection closes. */
  closeCode: number | undefined;
  /** From ConnectionInfo; kept as fields, not the info object, which would cost one more object per connection. */
  readonly remoteAddress: string | undefined;
  /** The HTTP upgrade request; released once `hello` is authenticated. */
  request: IncomingMessage | undefined;

  constructor(
    readonly socket: HubSocket,
    info: ConnectionInfo,
    now: number,
    rate: { perSecond: number; burst: number },
    private readonly bounds: ConnectionContext,
  ) {
    this.remoteAddress = info.remoteAddress;
    this.request = info.request;
    this.lastSentAt = now;
    this.lastReceivedAt = now;
    this.openedAt = now;
    this.rate = new RateLimiter(rate.perSecond, rate.burst, now);
  }

  get state(): ConnectionState {
    return this.current;
  }

  /**
   * Moves to `to`; a move the table does not allow is a bug in the server and throws (every caller
   * runs inside a guard that reports it and closes the connection).
   */
  moveTo(to: ConnectionState): void {
    const from = this.current;
    if (from === to) return;
    if (!TRANSITIONS[from].includes(to)) throw new Error(`connection: ${from} → ${to} is not an allowed transition`);
    this.current = to;
  }

  /** A method, not a field read, so TypeScript does not keep a state narrowed across an await. */
  isClosed(): boolean {
    return this.current === 'closed';
  }

  isOpen(): boolean {
    return this.current === 'open';
  }

  get bufferedAmount(): number {
    return this.socket.bufferedAmount;
  }

  /** Stops reading frames for `reason` (TCP backpressure does the rest). */
  holdReading(reason: ReadHold): void {
    if (this.readHolds === 0) this.socket.pauseReading?.();
    this.readHolds |= READ_HOLD_BITS[reason];
  }

  releaseReading(reason: ReadHold): void {
    const bit = READ_HOLD_BITS[reason];
    if ((this.readHolds & bit) === 0) return;
    this.readHolds &= ~bit;
    if (this.readHolds !== 0 || this.state === 'closed') return;
    this.socket.resumeReading?.();
  }

  isHolding(reason: ReadHold): boolean {
    return (this.readHolds & READ_HOLD_BITS[reason]) !== 0;
  }

  send(frame: ServerFrame): void {
    this.sendText(encodeFrame(frame));
  }

  /**
   * Writes a frame within the send-buffer bounds. Every frame counts, not only `msg`: a client that
   * sends requests and never reads the answers would otherwise grow the server without limit.
   * Lengths are in UTF-16 units, not bytes: exact for ASCII, and a bound is all this needs.
   */
  sendText(text: string): void {
    if (this.state === 'closed') return;
    const { socket, bounds } = this;
    if (socket.bufferedAmount + text.length > bounds.hard) return this.slowConsumer();
    this.sentSinceSweep = true;
    socket.send(text);
    // Read after the write: what the kernel took at once is not congestion, and needs no drain.
    if (this.congestion === undefined && socket.bufferedAmount > bounds.soft) {
      this.congestion = new Congestion(bounds.heldInput);
      this.holdReading('buffer');
    }
  }

  /** Writes the last frame before a close (an `error`, a few hundred bytes) whatever the buffer holds. */
  sendFinal(frame: ServerFrame): void {
    if (this.state === 'closed') return;
    this.sentSinceSweep = true;
    this.socket.send(encodeFrame(frame));
  }

  /**
   * Input still being processed (publishes waiting for their turn or their checks, requests whose
   * handler runs) was charged `bytes`; past the held-input bound reading stops until it is done.
   * Unlike kept replies, this drains by itself: nothing the client sends is needed to release it.
   */
  chargeInflight(session: { inflightBytes: number }, bytes: number): void {
    session.inflightBytes += bytes;
    if (session.inflightBytes > this.bounds.heldInput) this.holdReading('inflight');
  }

  /** Input charged with `chargeInflight` is done with. */
  dischargeInflight(session: { inflightBytes: number }, bytes: number): void {
    session.inflightBytes -= bytes;
    if (session.inflightBytes <= this.bounds.heldInput) this.releaseReading('inflight');
  }

  /** The session reached its kept-reply limit: later frames that could add replies wait (see RepliesBacklog). */
  deferReplies(): void {
    this.repliesBacklog ??= new RepliesBacklog(this.bounds.heldInput);
  }

  /** The session is under its kept-reply limit again: returns the frames that waited, to handle in order. */
  undeferReplies(): string[] {
    const backlog = this.repliesBacklog;
    if (backlog === undefined) return [];
    this.repliesBacklog = undefined;
    return backlog.take();
  }

  /** The send buffer is back under the soft bound: reading resumes. Returns the input held meanwhile, to handle first. */
  relieve(): string[] {
    const congestion = this.congestion;
    if (congestion === undefined) return [];
    this.congestion = undefined;
    this.releaseReading('buffer');
    return congestion.take();
  }

  /** A recoverable error: an `error` frame; the connection stays open. `about` names the refused frame. */
  refuse(code: string, message: string, about?: { topic: string; for: 'sub' | 'pub' }): void {
    // Never an echo of unbounded input: an invalid topic may be as long as a whole frame.
    const text = message.slice(0, MAX_ERROR_MESSAGE);
    this.send(about === undefined ? { type: 'error', code, message: text } : { type: 'error', code, message: text, topic: about.topic.slice(0, MAX_NAME_LENGTH), for: about.for });
  }

  /** A fatal error: an `error` frame, then a close with a 4xxx code. */
  fail(code: string, closeCode: number, message: string, retryAfter?: number): void {
    if (this.current === 'closed') return;
    // Past the send-buffer bound: the frame that says why is small, and the one thing still worth writing.
    message = message.slice(0, MAX_ERROR_MESSAGE);
    this.sendFinal(retryAfter === undefined ? { type: 'error', code, message } : { type: 'error', code, message, retryAfter });
    this.closeCode = closeCode;
    this.socket.close(closeCode, code);
    // A paused socket would not read the peer's answering close frame: the transport would keep it,
    // buffers and all, until its own close timeout. What is read now is ignored (state 'closed').
    this.socket.resumeReading?.();
    this.bounds.closed(this);
  }

  /** Drops a dead connection without a closing handshake. */
  drop(): void {
    this.socket.terminate();
    this.bounds.closed(this);
  }

  /**
   * A client that does not read what it asked for: its send buffer stayed over the limit too long,
   * or a frame would take it past the hard bound. Nothing is lost: replies stay kept in the session
   * and messages in the store, and the client resumes (4413 is retried).
   */
  slowConsumer(why = 'the send buffer of this connection is over its limit: the client does not read fast enough'): void {
    this.fail(ErrorCode.SlowConsumer, CloseCode.SlowConsumer, why);
  }
}
