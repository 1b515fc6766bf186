import {
  CloseCode,
  ErrorCode,
  forEachFrame,
  HoldfastError,
  isValidTopic,
  jsonCodec,
  MAX_NAME_LENGTH,
  measurePayload,
  systemClock,
  type ClientFrame,
  type Clock,
} from '../protocol/index.js';
import { MemoryStore } from '../store/memory/index.js';
import { isRefusal, type AppendEntry, type Store } from '../store/types.js';
import { AckScheduler } from './ack-scheduler.js';
import { AppendBatcher } from './append-batcher.js';
import { Connection, type ConnectionInfo, type HubSocket, type SendBounds } from './connection.js';
import { Delivery } from './delivery.js';
import { Handshake } from './handshake.js';
import { EarlyFrames, MAX_EARLY_BYTES, MAX_EARLY_FRAMES } from './held-input.js';
import { Inbound, replyFrame } from './inbound.js';
import { DEFAULT_LIMITS, DEFAULTS, type HubOptions, type RequestHandler, type ResolvedLimits } from './options.js';
import { RequestRegistry } from './request-registry.js';
import type { Session } from './session.js';
import { Subscriptions } from './subscriptions.js';
import { Sweeper } from './sweeper.js';
import { TopicDirectory } from './topics.js';

/**
 * Room over `maxBufferedBytes + maxPayload` before a frame is refused: the envelope of a largest
 * frame (the WebSocket layer accepts maxPayload plus this much too).
 */
const FRAME_ENVELOPE = 64 * 1024;
/**
 * Input a congested connection may have read and not yet handled, over `maxPayload`: once reading
 * is paused, a transport still delivers what it already read, at most the rest of one message
 * (maxPayload plus its envelope) and the rest of one 64 KiB socket read.
 */
const HELD_INPUT_SLACK = 256 * 1024;
/** Most characters of client input an error frame repeats (a topic, and the message). */
const MAX_ERROR_MESSAGE = 1024;

export interface ResolvedHubOptions {
  authenticate: HubOptions['authenticate'];
  authorize: HubOptions['authorize'];
  cacheAuthorization: boolean;
  handlers: Record<string, RequestHandler>;
  heartbeat: { interval: number; timeout: number };
  sessionTtl: number;
  dedupWindow: number;
  helloTimeout: number;
  sweepInterval: number;
  limits: ResolvedLimits;
  onError: (error: unknown) => void;
}

/**
 * The transport-free server core: sessions, routing, acknowledgements and heartbeats. A binding
 * (see `ws-server.ts`) feeds it sockets and frames; it knows no WebSocket library and no store
 * implementation.
 */
export class Hub {
  readonly options: ResolvedHubOptions;
  readonly store: Store;
  readonly clock: Clock;
  readonly topics: TopicDirectory;
  readonly delivery: Delivery;
  readonly appends: AppendBatcher;
  readonly acks: AckScheduler;
  readonly sessions = new Map<string, Session>();
  readonly requests = new RequestRegistry();
  readonly connections = new Set<Connection>();
  private readonly perAddress = new Map<string, number>();
  private readonly handshake = new Handshake(this);
  private readonly subscriptions = new Subscriptions(this);
  private readonly inbound = new Inbound(this);
  private readonly sweeper = new Sweeper(this);
  private readonly ownsStore: boolean;
  private readonly unlisten: () => void;
  private readonly dirty = new Set<Session>();
  private readonly flushWaiters: Array<() => void> = [];
  private flushTimer: NodeJS.Immediate | undefined;
  private closing = false;
  private readonly sendBounds: SendBounds;

  constructor(options: HubOptions = {}) {
    this.options = {
      authenticate: options.authenticate,
      authorize: options.authorize,
      cacheAuthorization: options.cacheAuthorization ?? true,
      handlers: { ...options.handlers },
      heartbeat: { ...DEFAULTS.heartbeat, ...options.heartbeat },
      sessionTtl: options.sessionTtl ?? DEFAULTS.sessionTtl,
      dedupWindow: options.dedupWindow ?? DEFAULTS.dedupWindow,
      helloTimeout: options.helloTimeout ?? DEFAULTS.helloTimeout,
      sweepInterval: options.sweepInterval ?? DEFAULTS.sweepInterval,
      limits: { ...DEFAULT_LIMITS, ...options.limits },
      onError: options.onError ?? ((error) => console.error('[holdfast]', error)),
    };
    this.clock = options.clock ?? systemClock;
    this.ownsStore = options.store === undefined;
    this.store = options.store ?? new MemoryStore();
    this.topics = new TopicDirectory(options.topics);
    this.appends = new AppendBatcher(this.store, () => this.flushNow(), this.options.onError);
    this.acks = new AckScheduler(this.clock, options.ackDelay ?? DEFAULTS.ackDelay, options.ackBatch ?? DEFAULTS.ackBatch, this.options.onError);
    this.delivery = new Delivery(
      this.store,
      this.options.limits.maxInFlight,
      this.options.limits.maxBufferedBytes,
      // Deferred: the gap is found inside a pump, which must finish before the restart pumps again.
      (subscription) => queueMicrotask(() => this.subscriptions.reposition(subscription).catch(this.options.onError)),
      this.options.onError,
    );
    this.unlisten = this.store.listen((event) => this.delivery.handle(event));
    const { maxBufferedBytes, maxPayload } = this.options.limits;
    this.sendBounds = {
      soft: maxBufferedBytes,
      hard: maxBufferedBytes + maxPayload + FRAME_ENVELOPE,
      heldInput: maxPayload + HELD_INPUT_SLACK,
      overflow: (connection) => this.slowConsumer(connection),
    };
  }

  /** A transport accepted a socket. Returns the connection to pass to `receive`, `closed`, `drained`. */
  open(socket: HubSocket, info: ConnectionInfo = {}): Connection {
    const connection = new Connection(socket, info, this.clock.now(), this.options.limits.messageRate, this.sendBounds);
    if (this.closing) {
      this.fail(connection, ErrorCode.ServerShutdown, CloseCode.GoingAway, 'the server is shutting down');
      return connection;
    }
    const address = info.remoteAddress ?? '';
    const count = this.perAddress.get(address) ?? 0;
    if (count >= this.options.limits.maxConnectionsPerAddress) {
      this.fail(connection, ErrorCode.TooManyConnections, CloseCode.TooManyConnections, 'too many connections from this address', 10_000);
      return connection;
    }
    this.perAddress.set(address, count + 1);
    this.connections.add(connection);
    this.sweeper.start();
    return connection;
  }

  /**
   * One WebSocket message from a transport: one frame, or several separated by line feeds
   * (PROTOCOL.md, Transport), handled in order. Never throws: whatever goes wrong stays with this
   * connection, and a frame that closes the connection leaves the rest of its message unread.
   * While the connection is congested (its send buffer over the limit), what arrives waits.
   */
  receive(connection: Connection, text: string, isBinary = false): void {
    try {
      if (isBinary) {
        if (connection.state === 'closed') return;
        return this.fail(connection, ErrorCode.MalformedFrame, CloseCode.ProtocolViolation, 'binary frames are not part of the protocol');
      }
      const congestion = connection.congestion;
      if (congestion === undefined) return this.receiveFrames(connection, text);
      connection.receivedSinceSweep = true; // it arrived: the peer is alive, only slow to read
      if (!congestion.keep(text)) this.slowConsumer(connection);
    } catch (error) {
      this.internal(connection, error);
    }
  }

  /** The frames of one message in order; the ones after a frame that congested the connection wait. */
  private receiveFrames(connection: Connection, text: string): void {
    let read = 0;
    forEachFrame(text, (frame) => {
      read += frame.length + 1;
      this.receiveFrame(connection, frame);
      if (connection.state === 'closed') return false;
      const congestion = connection.congestion;
      if (congestion === undefined || read >= text.length) return true;
      if (!congestion.keep(text.slice(read), text.length)) this.slowConsumer(connection);
      return false;
    });
  }

  private receiveFrame(connection: Connection, text: string): void {
    if (connection.state === 'closed') return;
    connection.receivedSinceSweep = true;
    const wait = connection.rate.take(this.clock.now());
    if (wait > 0) this.throttle(connection, wait);
    const decoded = jsonCodec.decodeClientFrame(text);
    if (!decoded.ok) {
      // An unknown type is forward compatibility, not a violation, once hello has arrived.
      if (decoded.code === ErrorCode.UnknownFrameType && connection.state !== 'greeting') return this.refuse(connection, decoded.code, decoded.message);
      const code = connection.state === 'greeting' && decoded.code === ErrorCode.UnknownFrameType ? ErrorCode.HelloRequired : decoded.code;
      return this.fail(connection, code, CloseCode.ProtocolViolation, decoded.message);
    }
    const frame = decoded.frame;
    switch (connection.state) {
      case 'greeting':
        if (frame.type !== 'hello') return this.fail(connection, ErrorCode.HelloRequired, CloseCode.ProtocolViolation, 'the first frame must be hello');
        this.handshake.hello(connection, frame).catch((error) => this.internal(connection, error));
        return;
      case 'authenticating':
        if (frame.type === 'hello') return this.fail(connection, ErrorCode.DuplicateHello, CloseCode.ProtocolViolation, 'hello was already sent');
        connection.early ??= new EarlyFrames(connection);
        if (!connection.early.add(text)) {
          const limit = `${MAX_EARLY_FRAMES} frames or ${MAX_EARLY_BYTES / (1024 * 1024)} MiB`;
          return this.fail(connection, ErrorCode.HelloRequired, CloseCode.ProtocolViolation, `more than ${limit} before welcome`);
        }
        return;
      case 'open':
        return this.dispatch(connection, frame, text);
    }
  }

  /**
   * The session is back under its kept-reply limit: the frames that waited are handled in order;
   * if they fill it again, the rest waits once more.
   */
  handleDeferred(connection: Connection): void {
    const input = connection.undeferReplies();
    for (let i = 0; i < input.length && connection.state !== 'closed'; i++) {
      const decoded = jsonCodec.decodeClientFrame(input[i]!);
      // Into a new backlog again if these fill the limit once more: they fitted before, they fit again.
      if (decoded.ok) this.dispatch(connection, decoded.frame, input[i]!);
    }
  }

  /** Handles one frame of an open connection; `text` is the frame as received. */
  dispatch(connection: Connection, frame: ClientFrame, text: string): void {
    const backlog = connection.repliesBacklog;
    if (backlog !== undefined && frame.type !== 'ack' && frame.type !== 'ping' && frame.type !== 'pong') {
      // Behind the confirmations this frame may precede. Only a client sending on regardless fills
      // the backlog; dropping a frame would lose it and pausing would never read the confirmations,
      // so such a client is closed (4413) and resumes.
      if (!backlog.keep(text)) this.slowConsumer(connection, 'more frames arrived than are held while the session waits for reply confirmations');
      return;
    }
    switch (frame.type) {
      case 'hello':
        return this.fail(connection, ErrorCode.DuplicateHello, CloseCode.ProtocolViolation, 'hello was already sent');
      case 'sub':
        this.subscriptions.subscribe(connection, frame).catch((error) => this.internal(connection, error));
        return;
      case 'unsub':
        // Never subscribed, and `unsubscribed` would echo a topic as long as the frame.
        if (!isValidTopic(frame.topic)) return this.refuse(connection, ErrorCode.InvalidTopic, 'topic names have 1 to 256 characters and no control characters');
        return this.subscriptions.unsubscribe(connection, frame.topic);
      case 'pub':
        return this.inbound.pub(connection, frame, text);
      case 'req':
        return this.inbound.req(connection, frame, text);
      case 'ack':
        return this.subscriptions.acknowledge(connection, frame);
      case 'ping':
        return connection.send({ type: 'pong' });
      case 'pong':
        return;
    }
  }

  /** The transport's socket closed (or errored). */
  closed(connection: Connection): void {
    if (connection.state === 'closed') return;
    connection.state = 'closed';
    connection.early = connection.congestion = connection.repliesBacklog = undefined; // input that will never be handled
    if (this.connections.delete(connection)) {
      const address = connection.remoteAddress ?? '';
      const count = (this.perAddress.get(address) ?? 1) - 1;
      if (count <= 0) this.perAddress.delete(address);
      else this.perAddress.set(address, count);
    }
    this.acks.forget(connection);
    if (connection.resumeTimer !== undefined) this.clock.clearTimeout(connection.resumeTimer);
    for (const subscription of connection.subscriptions.values()) this.delivery.stop(subscription);
    const session = connection.session;
    if (session !== null && session.connection === connection) {
      // Cursors of topics this connection no longer had are of no use to a resume.
      const { cursors } = session;
      if (cursors !== undefined) for (const topic of cursors.keys()) if (!connection.subscriptions.has(topic)) cursors.delete(topic);
      session.connection = null;
      session.expiresAt = this.clock.now() + this.options.sessionTtl;
      this.sweeper.released(session, session.expiresAt);
      this.persist(session);
    }
    connection.subscriptions.clear();
  }

  /**
   * The transport's send buffer drained (the sweeper also calls this for a congested connection
   * whose buffer is back under the limit). Reading resumes, after the input held meanwhile is
   * handled, in order; if that congests the connection again, the rest waits once more.
   */
  drained(connection: Connection): void {
    try {
      if (connection.congestion !== undefined) {
        if (connection.socket.bufferedAmount > this.options.limits.maxBufferedBytes) return;
        const input = connection.relieve();
        for (let i = 0; i < input.length && connection.state !== 'closed'; i++) {
          if (connection.congestion !== undefined) {
            connection.congestion.keepFirst(input.slice(i));
            break;
          }
          this.receiveFrames(connection, input[i]!);
        }
      }
      this.delivery.drained(connection);
    } catch (error) {
      this.internal(connection, error);
    }
  }

  /** A recoverable error: an `error` frame; the connection stays open. `about` names the refused frame. */
  refuse(connection: Connection, code: string, message: string, about?: { topic: string; for: 'sub' | 'pub' }): void {
    // Never an echo of unbounded input: an invalid topic may be as long as a whole frame.
    const text = message.slice(0, MAX_ERROR_MESSAGE);
    const frame = about === undefined ? { type: 'error' as const, code, message: text } : { type: 'error' as const, code, message: text, topic: about.topic.slice(0, MAX_NAME_LENGTH), for: about.for };
    connection.send(frame);
  }

  /** A fatal error: an `error` frame, then a close with a 4xxx code. */
  fail(connection: Connection, code: string, closeCode: number, message: string, retryAfter?: number): void {
    if (connection.state === 'closed') return;
    // Past the send-buffer bound: the frame that says why is small, and the one thing still worth writing.
    message = message.slice(0, MAX_ERROR_MESSAGE);
    connection.sendFinal(retryAfter === undefined ? { type: 'error', code, message } : { type: 'error', code, message, retryAfter });
    connection.socket.close(closeCode, code);
    // A paused socket would not read the peer's answering close frame: the transport would keep it,
    // buffers and all, until its own close timeout. What is read now is ignored (state 'closed').
    connection.socket.resumeReading?.();
    this.closed(connection);
  }

  /** Drops a dead connection without a closing handshake. */
  drop(connection: Connection, _code: number, _reason: string): void {
    connection.socket.terminate();
    this.closed(connection);
  }

  /**
   * A client that does not read what it asked for: its send buffer stayed over the limit too long,
   * or a frame would take it past the hard bound. Nothing is lost: replies stay kept in the session
   * and messages in the store, and the client resumes (4413 is retried).
   */
  slowConsumer(connection: Connection, why = 'the send buffer of this connection is over its limit: the client does not read fast enough'): void {
    this.fail(connection, ErrorCode.SlowConsumer, CloseCode.SlowConsumer, why);
  }

  private internal(connection: Connection, error: unknown): void {
    this.options.onError(error);
    this.fail(connection, ErrorCode.Internal, CloseCode.InternalError, 'internal server error', 1000);
  }

  /**
   * Past the frame rate: stop reading the socket until the bucket refills, telling the client once
   * per episode. Frames already read keep being processed (nothing is dropped); they deepen the
   * bucket's debt, so the resume timer checks the bucket again before reading resumes.
   */
  private throttle(connection: Connection, wait: number): void {
    if (connection.resumeTimer !== undefined) return;
    const now = this.clock.now();
    // Episodes can be milliseconds apart under a steady flood; the client hears about it once a second.
    if (now - connection.rateLimitedAt >= 1000) {
      connection.rateLimitedAt = now;
      this.refuse(connection, ErrorCode.RateLimited, `more than ${this.options.limits.messageRate.perSecond} frames per second; reading is slowed down`);
    }
    connection.holdReading('rate');
    const resume = (): void => {
      connection.resumeTimer = undefined;
      if (connection.state === 'closed') return;
      const more = connection.rate.waitTime(this.clock.now());
      if (more > 0) connection.resumeTimer = this.clock.setTimeout(resume, more);
      else connection.releaseReading('rate');
    };
    // Also without pauseReading (a transport that cannot), the timer ends the episode: one error each.
    connection.resumeTimer = this.clock.setTimeout(resume, wait);
  }

  /** Asks the `authorize` hook, caching answers per connection. */
  authorized(connection: Connection, topic: string, action: 'subscribe' | 'publish'): boolean | Promise<boolean> {
    const hook = this.options.authorize;
    if (hook === undefined) return true;
    const key = `${action}\u0000${topic}`;
    const cache = this.options.cacheAuthorization ? (connection.authorizations ??= new Map()) : undefined;
    const cached = cache?.get(key);
    if (cached !== undefined) return cached;
    const context = { identity: connection.identity, topic, action, session: connection.session?.id ?? '' };
    let answer: boolean | Promise<boolean>;
    try {
      const result = hook(context);
      answer =
        result instanceof Promise
          ? result.then(Boolean, (error: unknown) => {
              this.options.onError(error);
              cache?.delete(key);
              return false;
            })
          : Boolean(result);
    } catch (error) {
      this.options.onError(error);
      return false;
    }
    if (cache !== undefined) {
      if (cache.size >= 1000) cache.clear();
      cache.set(key, answer);
      if (answer instanceof Promise) void answer.then((value) => cache.get(key) === answer && cache.set(key, value));
    }
    return answer;
  }

  /** Saves a changed session to the store, batched with every other one per event-loop turn. */
  persist(session: Session): void {
    if (this.closing) return; // close() saves everything once, before the store goes away
    this.dirty.add(session);
    this.scheduleFlush();
  }

  /** Resolves once the sessions persisted so far are saved (or the save failed and will be retried). */
  saved(): Promise<void> {
    return new Promise((resolve) => {
      this.flushWaiters.push(resolve);
      this.scheduleFlush();
    });
  }

  private scheduleFlush(): void {
    if (this.flushTimer !== undefined) return;
    this.flushTimer = setImmediate(() => this.flushSessions().catch(this.options.onError));
  }

  /**
   * Saves at once what an append batch just changed: waiting for the next turn's flush would hold
   * every ack of the batch back by one event-loop turn, for no durability gained.
   */
  private flushNow(): void {
    if (this.dirty.size === 0 || this.closing) return;
    this.flushSessions().catch(this.options.onError);
  }

  /**
   * One save for every changed session; then the replies and acks the saved records vouch for go
   * out. A failed save is retried by the sweeper, and nothing is sent until it succeeds.
   */
  private async flushSessions(): Promise<void> {
    if (this.flushTimer !== undefined) clearImmediate(this.flushTimer);
    this.flushTimer = undefined;
    const waiters = this.flushWaiters.splice(0);
    const sessions = [...this.dirty];
    this.dirty.clear();
    const now = this.clock.now();
    const updates = sessions.map((session) => session.takeUpdate(now, this.options.sessionTtl));
    try {
      if (updates.length > 0) await this.store.saveSessions(updates);
    } catch (error) {
      this.options.onError(error);
      sessions.forEach((session, i) => {
        session.restoreUpdate(updates[i]!);
        this.dirty.add(session);
      });
      this.flushWaiters.push(...waiters);
      return;
    }
    sessions.forEach((session, i) => {
      const update = updates[i]!;
      session.persistedSeq = Math.max(session.persistedSeq, update.state.lastSeq);
      const connection = session.connection;
      if (connection === null || connection.state !== 'open') return; // kept: a resend gets them
      for (const reply of update.addReplies ?? []) connection.send(replyFrame(reply));
      this.ackSoon(connection);
    });
    for (const resolve of waiters) resolve();
  }

  /** Acks at once when every frame received is processed; otherwise batched. */
  ackSoon(connection: Connection): void {
    if (connection.session?.ledger.hasPending() === true) {
      this.acks.note(connection);
      return;
    }
    // Caught up with everything received: waiting longer would only delay the client's window.
    this.acks.forget(connection);
    connection.flushAck();
  }

  /** Called by the sweeper: a session save that failed is tried again. */
  retryFailedSaves(): void {
    if (this.dirty.size > 0 || this.flushWaiters.length > 0) this.scheduleFlush();
  }

  /** Publishes from application code on the server. Resolves with the offset once stored. */
  async publish(topic: string, data: unknown, options: { key?: string } = {}): Promise<{ offset?: number }> {
    // The name may come from a client of the application (the HTTP API): an error never echoes more than a name's length.
    if (!isValidTopic(topic)) throw new HoldfastError(ErrorCode.InvalidTopic, `invalid topic name "${String(topic).slice(0, MAX_NAME_LENGTH)}"`);
    const settings = this.topics.resolve(topic);
    if (settings === undefined) throw new HoldfastError(ErrorCode.UnknownTopic, `unknown topic "${topic}"`);
    const { maxPayload, maxDepth } = this.options.limits;
    const measure = measurePayload(data, maxDepth);
    if (measure === undefined) throw new HoldfastError(ErrorCode.InvalidPayload, 'data is not JSON-serialisable');
    if (measure.depth > maxDepth) throw new HoldfastError(ErrorCode.InvalidPayload, `data nests deeper than ${maxDepth} levels`);
    if (measure.bytes > maxPayload) throw new HoldfastError(ErrorCode.PayloadTooLarge, `data is larger than ${maxPayload} bytes`);
    const message = options.key === undefined ? { topic, data } : { topic, data, key: options.key };
    if (settings.mode === 'volatile') {
      await this.store.broadcast(message);
      return {};
    }
    const entry: AppendEntry = { ...message, compact: settings.mode === 'latest', time: this.clock.now(), size: measure.bytes };
    if (settings.mode === 'latest') entry.maxKeys = settings.maxKeys;
    const result = await this.appends.add(entry);
    if (isRefusal(result)) throw new HoldfastError(result.refused.code, result.refused.message);
    return { offset: result.offset };
  }

  /** Registers (or replaces) a request handler. */
  handle(method: string, handler: RequestHandler): void {
    this.options.handlers[method] = handler;
  }

  /** Restarts subscriptions that wait on a failed store read or reposition (the sweeper calls it). */
  retryStalled(): void {
    this.retryFailedSaves();
    this.delivery.retryBlocked();
    this.subscriptions.retryRepositions();
  }

  /** Runs one sweep now (heartbeats, expiry, retention); the sweeper's timer does this by itself. */
  sweep(): void {
    this.sweeper.sweep();
  }

  stats(): { connections: number; sessions: number; subscriptions: number } {
    return { connections: this.connections.size, sessions: this.sessions.size, subscriptions: this.delivery.subscriberCount() };
  }

  /** Closes every connection with 1001 (clients reconnect), saves sessions, stops timers. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.sweeper.stop();
    this.acks.flushAll();
    this.acks.stop();
    for (const connection of [...this.connections]) {
      this.fail(connection, ErrorCode.ServerShutdown, CloseCode.GoingAway, 'the server is shutting down', 1000);
    }
    this.dirty.clear();
    const now = this.clock.now();
    const updates = [...this.sessions.values()].map((session) => session.takeUpdate(now, this.options.sessionTtl));
    await this.store.saveSessions(updates).catch(this.options.onError);
    this.unlisten();
    if (this.ownsStore) await this.store.close();
  }
}
