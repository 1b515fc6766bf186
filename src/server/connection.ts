import type { IncomingMessage } from 'node:http';
import type { ServerFrame, TimerHandle } from '../protocol/index.js';
import { encodeFrame } from '../protocol/index.js';
import type { AckTarget } from './ack-scheduler.js';
import { Congestion, RepliesBacklog, type EarlyFrames } from './held-input.js';
import type { Identity } from './options.js';
import { RateLimiter } from './rate-limiter.js';
import type { Session } from './session.js';
import type { ServerSubscription } from './delivery.js';

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

export type ConnectionState = 'greeting' | 'authenticating' | 'open' | 'closed';

/**
 * Why reading is paused: the frame rate limit, a send buffer over its limit (the client does not
 * read what it asked for), or too much input still being processed. (At the kept-reply limit the
 * connection keeps reading: see RepliesBacklog.)
 */
export type ReadHold = 'rate' | 'buffer' | 'inflight';
const READ_HOLD_BITS: Record<ReadHold, number> = { rate: 1, buffer: 2, inflight: 4 };

/** The send-buffer bounds, one object shared by every connection of a hub. */
export interface SendBounds {
  /** Over this many buffered bytes the connection is congested: reading stops until it drains. */
  readonly soft: number;
  /** A frame that would take the buffer past this is not written, and `overflow` is called. */
  readonly hard: number;
  /** Bytes of input a congested connection may have read and not yet handled. */
  readonly heldInput: number;
  /** Closes a connection whose frame did not fit under `hard` (the hub's SLOW_CONSUMER close). */
  overflow(connection: Connection): void;
}

/** One WebSocket connection as the hub sees it. */
export class Connection implements AckTarget {
  state: ConnectionState = 'greeting';
  session: Session | null = null;
  identity: Identity | null = null;
  readonly subscriptions = new Map<string, ServerSubscription>();
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

  /** An ack must go out even if lastSeq did not move (a resend of a processed frame). */
  ackOwed = false;
  lastAckSent = 0;
  /** Set while reading is paused by the rate limit: the one timer that resumes it. */
  resumeTimer: TimerHandle | undefined;
  /** When the client was last told RATE_LIMITED. */
  rateLimitedAt = -Infinity;
  /** Why reading is paused, as ReadHold bits (a number, not a Set per connection); it resumes at 0. */
  private readHolds = 0;
  readonly rate: RateLimiter;
  /** Topics this connection may still create (limits.topicCreation); created with its first stored publish. */
  topicBudget: RateLimiter | undefined;
  /** From ConnectionInfo; kept as fields, not the info object, which would cost one more object per connection. */
  readonly remoteAddress: string | undefined;
  /** The HTTP upgrade request; released once `hello` is authenticated. */
  request: IncomingMessage | undefined;

  constructor(
    readonly socket: HubSocket,
    info: ConnectionInfo,
    now: number,
    rate: { perSecond: number; burst: number },
    private readonly bounds: SendBounds,
  ) {
    this.remoteAddress = info.remoteAddress;
    this.request = info.request;
    this.lastSentAt = now;
    this.lastReceivedAt = now;
    this.openedAt = now;
    this.rate = new RateLimiter(rate.perSecond, rate.burst, now);
  }

  /** A method, not a field read, so TypeScript does not keep a state narrowed across an await. */
  isClosed(): boolean {
    return this.state === 'closed';
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
    if (socket.bufferedAmount + text.length > bounds.hard) return bounds.overflow(this);
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

  flushAck(): void {
    const session = this.session;
    if (session === null || this.state !== 'open') return;
    // Only what the stored session record shows as processed: after a crash the resumed session must
    // not be behind an ack the client already holds, or the frames between would never come again.
    const seq = Math.min(session.ledger.lastSeq, session.persistedSeq);
    if (seq === this.lastAckSent && !this.ackOwed) return;
    this.ackOwed = false;
    this.lastAckSent = seq;
    this.send({ type: 'ack', seq });
  }
}
