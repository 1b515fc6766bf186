import { CloseCode, decodeClientFrame, ErrorCode, forEachFrame, isValidTopic, type ClientFrame, type Clock } from '../protocol/index.js';
import type { Connection } from './connection.js';
import type { Delivery } from './delivery.js';
import type { ServerSubscription } from './subscription.js';
import type { Handshake } from './handshake.js';
import { EarlyFrames, MAX_EARLY_BYTES, MAX_EARLY_FRAMES } from './held-input.js';
import type { Inbound } from './inbound.js';
import type { ResolvedLimits } from './options.js';
import type { Subscriptions } from './subscriptions.js';

/** What the router needs of the hub: the handlers of each frame type. */
export interface FrameRouterContext {
  readonly clock: Clock;
  readonly limits: ResolvedLimits;
  readonly onError: (error: unknown) => void;
  readonly handshake: Handshake;
  readonly subscriptions: Subscriptions;
  readonly inbound: Inbound;
  readonly delivery: Delivery<ServerSubscription<Connection>>;
}

/**
 * Client input, from a transport's message to the handler of each frame: decoding, the frame
 * rate, the states of the connection (PROTOCOL.md, Flows: Connect), and input that waits while the
 * connection is congested or its session at the kept-reply limit. Never throws: whatever goes wrong
 * stays with its connection.
 */
export class FrameRouter {
  constructor(private readonly hub: FrameRouterContext) {}

  /**
   * One WebSocket message: one frame, or several separated by line feeds (PROTOCOL.md, Transport),
   * handled in order; a frame that closes the connection leaves the rest unread. While the
   * connection is congested (its send buffer over the limit), what arrives waits.
   */
  receive(connection: Connection, text: string, isBinary: boolean): void {
    try {
      if (isBinary) {
        if (connection.isClosed()) return;
        return connection.fail(ErrorCode.MalformedFrame, CloseCode.ProtocolViolation, 'binary frames are not part of the protocol');
      }
      const congestion = connection.congestion;
      if (congestion === undefined) return this.receiveFrames(connection, text);
      connection.receivedSinceSweep = true; // it arrived: the peer is alive, only slow to read
      if (!congestion.keep(text)) connection.slowConsumer();
    } catch (error) {
      this.internal(connection, error);
    }
  }

  /**
   * The transport's send buffer drained (the sweeper also calls this for a congested connection
   * whose buffer is back under the limit). Reading resumes, after the input held meanwhile is
   * handled, in order; if that congests the connection again, the rest waits once more.
   */
  drained(connection: Connection): void {
    try {
      if (connection.congestion !== undefined) {
        if (connection.bufferedAmount > this.hub.limits.maxBufferedBytes) return;
        const input = connection.relieve();
        for (let i = 0; i < input.length && !connection.isClosed(); i++) {
          if (connection.congestion !== undefined) {
            connection.congestion.keepFirst(input.slice(i));
            break;
          }
          this.receiveFrames(connection, input[i]!);
        }
      }
      this.hub.delivery.drained(connection.subscriptions.values());
    } catch (error) {
      this.internal(connection, error);
    }
  }

  /**
   * The session is back under its kept-reply limit: the frames that waited are handled in order;
   * if they fill it again, the rest waits once more.
   */
  handleDeferred(connection: Connection): void {
    const input = connection.undeferReplies();
    for (let i = 0; i < input.length && !connection.isClosed(); i++) {
      const decoded = decodeClientFrame(input[i]!);
      // Into a new backlog again if these fill the limit once more: they fitted before, they fit again.
      if (decoded.ok) this.dispatch(connection, decoded.frame, input[i]!);
    }
  }

  /** Handles one frame of an open connection; `text` is the frame as received. */
  dispatch(connection: Connection, frame: ClientFrame, text: string): void {
    const { hub } = this;
    const backlog = connection.repliesBacklog;
    if (backlog !== undefined && frame.type !== 'ack' && frame.type !== 'ping' && frame.type !== 'pong') {
      // Behind the confirmations this frame may precede. Only a client sending on regardless fills
      // the backlog; dropping a frame would lose it and pausing would never read the confirmations,
      // so such a client is closed (4413) and resumes.
      if (!backlog.keep(text)) connection.slowConsumer('more frames arrived than are held while the session waits for reply confirmations');
      return;
    }
    switch (frame.type) {
      case 'hello':
        return connection.fail(ErrorCode.DuplicateHello, CloseCode.ProtocolViolation, 'hello was already sent');
      case 'sub':
        hub.subscriptions.subscribe(connection, frame).catch((error) => this.internal(connection, error));
        return;
      case 'unsub':
        // Never subscribed, and `unsubscribed` would echo a topic as long as the frame.
        if (!isValidTopic(frame.topic)) return connection.refuse(ErrorCode.InvalidTopic, 'topic names have 1 to 256 characters and no control characters');
        return hub.subscriptions.unsubscribe(connection, frame.topic);
      case 'pub':
        return hub.inbound.pub(connection, frame, text);
      case 'req':
        return hub.inbound.req(connection, frame, text);
      case 'ack':
        return hub.subscriptions.acknowledge(connection, frame);
      case 'ping':
        return connection.send({ type: 'pong' });
      case 'pong':
        return;
    }
  }

  /** An unexpected failure while handling this connection's input: reported, and the connection closed (4500). */
  internal(connection: Connection, error: unknown): void {
    this.hub.onError(error);
    connection.fail(ErrorCode.Internal, CloseCode.InternalError, 'internal server error', 1000);
  }

  /** The frames of one message in order; the ones after a frame that congested the connection wait. */
  private receiveFrames(connection: Connection, text: string): void {
    let read = 0;
    forEachFrame(text, (frame) => {
      read += frame.length + 1;
      this.receiveFrame(connection, frame);
      if (connection.isClosed()) return false;
      const congestion = connection.congestion;
      if (congestion === undefined || read >= text.length) return true;
      if (!congestion.keep(text.slice(read), text.length)) connection.slowConsumer();
      return false;
    });
  }

  private receiveFrame(connection: Connection, text: string): void {
    if (connection.isClosed()) return;
    connection.receivedSinceSweep = true;
    const wait = connection.rate.take(this.hub.clock.now());
    if (wait > 0) this.throttle(connection, wait);
    const decoded = decodeClientFrame(text);
    const { state } = connection;
    if (!decoded.ok) {
      // An unknown type is forward compatibility, not a violation, once hello has arrived.
      if (decoded.code === ErrorCode.UnknownFrameType && state !== 'greeting') return connection.refuse(decoded.code, decoded.message);
      const code = state === 'greeting' && decoded.code === ErrorCode.UnknownFrameType ? ErrorCode.HelloRequired : decoded.code;
      return connection.fail(code, CloseCode.ProtocolViolation, decoded.message);
    }
    const frame = decoded.frame;
    switch (state) {
      case 'greeting':
        if (frame.type !== 'hello') return connection.fail(ErrorCode.HelloRequired, CloseCode.ProtocolViolation, 'the first frame must be hello');
        this.hub.handshake.hello(connection, frame).catch((error) => this.internal(connection, error));
        return;
      case 'authenticating':
        if (frame.type === 'hello') return connection.fail(ErrorCode.DuplicateHello, CloseCode.ProtocolViolation, 'hello was already sent');
        connection.early ??= new EarlyFrames(connection);
        if (!connection.early.add(text)) {
          const limit = `${MAX_EARLY_FRAMES} frames or ${MAX_EARLY_BYTES / (1024 * 1024)} MiB`;
          return connection.fail(ErrorCode.HelloRequired, CloseCode.ProtocolViolation, `more than ${limit} before welcome`);
        }
        return;
      case 'open':
        return this.dispatch(connection, frame, text);
      case 'closed':
        return;
    }
  }

  /**
   * Past the frame rate: stop reading the socket until the bucket refills, telling the client once
   * per episode. Frames already read keep being processed (nothing is dropped); they deepen the
   * bucket's debt, so the resume timer checks the bucket again before reading resumes.
   */
  private throttle(connection: Connection, wait: number): void {
    if (connection.resumeTimer !== undefined) return;
    const { clock, limits } = this.hub;
    const now = clock.now();
    // Episodes can be milliseconds apart under a steady flood; the client hears about it once a second.
    if (now - connection.rateLimitedAt >= 1000) {
      connection.rateLimitedAt = now;
      connection.refuse(ErrorCode.RateLimited, `more than ${limits.messageRate.perSecond} frames per second; reading is slowed down`);
    }
    connection.holdReading('rate');
    const resume = (): void => {
      connection.resumeTimer = undefined;
      if (connection.isClosed()) return;
      const more = connection.rate.waitTime(clock.now());
      if (more > 0) connection.resumeTimer = clock.setTimeout(resume, more);
      else connection.releaseReading('rate');
    };
    // Also without pauseReading (a transport that cannot), the timer ends the episode: one error each.
    connection.resumeTimer = clock.setTimeout(resume, wait);
  }
}
