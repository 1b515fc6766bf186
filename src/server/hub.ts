import {
  CloseCode,
  ErrorCode,
  HoldfastError,
  isValidTopic,
  MAX_NAME_LENGTH,
  checkPayload,
  MESSAGE_ENVELOPE_BYTES,
  systemClock,
  deferOf,
  type Clock,
} from '../protocol/index.js';
import { isRefusal, type AppendEntry, type Store, type StoreEvent } from '../store/types.js';
import { AckScheduler } from './ack-scheduler.js';
import { AppendBatcher } from './append-batcher.js';
import { Authorizer } from './authorization.js';
import { Connection, type ConnectionContext, type ConnectionInfo, type HubSocket } from './connection.js';
import { Delivery } from './delivery.js';
import { FrameRouter } from './frame-router.js';
import { Handshake } from './handshake.js';
import { Inbound } from './inbound.js';
import { DEFAULT_LIMITS, DEFAULTS, type HubOptions, type RequestHandler, type ResolvedLimits } from './options.js';
import { safeObserver, type SafeObserver } from './observer.js';
import { RequestRuns } from './request-runs.js';
import { SessionDirectory, type HubSession } from './session-directory.js';
import { SessionSaves } from './session-saves.js';
import type { ServerSubscription } from './subscription.js';
import { Subscriptions } from './subscriptions.js';
import { Sweeper } from './sweeper.js';
import { TopicDirectory } from './topics.js';

/**
 * Input a congested connection may have read and not yet handled, over `maxPayload`: once reading
 * is paused, a transport still delivers what it already read, at most the rest of one message
 * (maxPayload plus its envelope) and the rest of one 64 KiB socket read.
 */
const HELD_INPUT_SLACK = 256 * 1024;

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
 * The transport-free server core: a small composition of the parts below, each given what it
 * needs and nothing more. A binding (see `ws-server.ts`) feeds it sockets and frames; it imports no
 * WebSocket library and no store implementation (the binding picks the default store).
 *
 * - FrameRouter: client input, frame by frame, through the connection's states.
 * - Handshake + SessionDirectory: `hello`, sessions held through leases in the store.
 * - Inbound + RequestRuns: `pub` and `req`, once per seq and per id, across nodes.
 * - AckPath (one per session) + SessionSaves: processed → saved → `reply` and `ack`.
 * - Subscriptions + Delivery: `sub`, recovery, fan-out and catch-up.
 * - Sweeper: the one timer (heartbeats, expiry, retention, retries).
 */
export class Hub {
  readonly options: ResolvedHubOptions;
  readonly store: Store;
  readonly clock: Clock;
  private readonly connections = new Set<Connection>();
  private readonly perAddress = new Map<string, number>();
  private readonly topics: TopicDirectory;
  private readonly delivery: Delivery<ServerSubscription<Connection>>;
  private readonly appends: AppendBatcher;
  private readonly acks: AckScheduler;
  private readonly saves: SessionSaves<HubSession>;
  private readonly sessions: SessionDirectory;
  private readonly requests: RequestRuns;
  private readonly subscriptions: Subscriptions;
  private readonly router: FrameRouter;
  private readonly sweeper: Sweeper;
  /** Topics this node appended to since the last sweep. */
  private readonly appendedTopics = new Set<string>();
  private readonly context: ConnectionContext;
  private readonly observer: SafeObserver;
  private readonly unlisten: () => void;
  private available = true;
  private closing = false;

  constructor(options: HubOptions) {
    // Checked for JavaScript callers: TypeScript already requires it.
    if ((options.store as Store | undefined) === undefined) throw new TypeError('a Hub needs a store (HoldfastServer picks a MemoryStore by default)');
    const resolved: ResolvedHubOptions = (this.options = {
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
    });
    const { limits, onError, sessionTtl, dedupWindow } = resolved;
    const observer = (this.observer = safeObserver(options.observer, onError));
    const clock = (this.clock = options.clock ?? systemClock);
    const store = (this.store = options.store);
    const now = () => clock.now();
    const defer = deferOf(clock);
    this.topics = new TopicDirectory(options.topics);
    this.acks = new AckScheduler(clock, options.ackDelay ?? DEFAULTS.ackDelay, options.ackBatch ?? DEFAULTS.ackBatch, onError, observer.ackSent);
    const saves = (this.saves = new SessionSaves<HubSession>({ store, now, defer, sessionTtl, onError, replaced: (session) => void sessions.refused(session).catch(onError) }));
    const sessions = (this.sessions = new SessionDirectory({ store, saves, acks: this.acks, now, sessionTtl, onError }));
    this.requests = new RequestRuns({ store, now, ttl: dedupWindow, onError });
    this.appends = new AppendBatcher(store, defer, () => saves.flushNow(), (topic) => this.appendedTopics.add(topic), onError, observer);
    this.delivery = new Delivery<ServerSubscription<Connection>>(
      store,
      limits.maxInFlight,
      limits.maxBufferedBytes,
      // Deferred: the gap is found inside a pump, which must finish before the restart pumps again.
      (subscription) => queueMicrotask(() => this.subscriptions.reposition(subscription).catch(onError)),
      onError,
      observer.messageOut,
    );
    const authorizer = new Authorizer(options.authorize, resolved.cacheAuthorization, onError);
    const authorized = authorizer.allows.bind(authorizer);
    const parts = { clock, limits, onError, observer, store, topics: this.topics, delivery: this.delivery, saves, requests: this.requests, authorized };
    this.subscriptions = new Subscriptions({ ...parts, handleDeferred: (connection) => this.router.handleDeferred(connection) });
    const inbound = new Inbound({ ...parts, dedupWindow, handlers: resolved.handlers, appends: this.appends });
    const handshake = new Handshake({
      authenticate: options.authenticate,
      heartbeat: resolved.heartbeat,
      limits,
      onError,
      sessions,
      dispatch: (connection, frame, text) => this.router.dispatch(connection, frame, text),
    });
    this.router = new FrameRouter({ clock, limits, onError, handshake, subscriptions: this.subscriptions, inbound, delivery: this.delivery });
    this.sweeper = new Sweeper({
      clock,
      heartbeat: resolved.heartbeat,
      helloTimeout: resolved.helloTimeout,
      sweepInterval: resolved.sweepInterval,
      sessionTtl,
      limits,
      onError,
      connections: this.connections,
      sessions,
      saves,
      store,
      topics: this.topics,
      appendedTopics: this.appendedTopics,
      drained: (connection) => this.router.drained(connection),
      retryStalled: (time) => this.retryStalled(time),
      heartbeatTimedOut: observer.heartbeatTimeout,
    });
    this.context = {
      soft: limits.maxBufferedBytes,
      hard: limits.maxBufferedBytes + limits.maxPayload + MESSAGE_ENVELOPE_BYTES, // room for a largest frame over maxPayload
      heldInput: limits.maxPayload + HELD_INPUT_SLACK,
      closed: (connection) => this.closed(connection),
    };
    this.unlisten = store.listen((event) => this.heard(event));
  }

  /** A transport accepted a socket. Returns the connection to pass to `receive`, `closed`, `drained`. */
  open(socket: HubSocket, info: ConnectionInfo = {}): Connection {
    const connection = new Connection(socket, info, this.clock.now(), this.options.limits.messageRate, this.context);
    if (this.closing) {
      connection.fail(ErrorCode.ServerShutdown, CloseCode.GoingAway, 'the server is shutting down');
      return connection;
    }
    const address = info.remoteAddress ?? '';
    const count = this.perAddress.get(address) ?? 0;
    if (count >= this.options.limits.maxConnectionsPerAddress) {
      connection.fail(ErrorCode.TooManyConnections, CloseCode.TooManyConnections, 'too many connections from this address', 10_000);
      return connection;
    }
    this.perAddress.set(address, count + 1);
    this.connections.add(connection);
    this.observer.connectionOpened();
    this.sweeper.start();
    return connection;
  }

  /** One WebSocket message from a transport (see FrameRouter.receive). Never throws. */
  receive(connection: Connection, text: string, isBinary = false): void {
    this.router.receive(connection, text, isBinary);
  }

  /** The transport's send buffer drained. Never throws. */
  drained(connection: Connection): void {
    this.router.drained(connection);
  }

  /**
   * The transport's socket closed (or errored). `code`: the close code the transport saw, if any;
   * one the server sent itself (`Connection.fail`) is preferred, as the one that says why.
   */
  closed(connection: Connection, code?: number): void {
    if (connection.isClosed()) return;
    connection.moveTo('closed');
    connection.early = connection.congestion = connection.repliesBacklog = undefined; // input that will never be handled
    if (this.connections.delete(connection)) {
      const address = connection.remoteAddress ?? '';
      const count = (this.perAddress.get(address) ?? 1) - 1;
      if (count <= 0) this.perAddress.delete(address);
      else this.perAddress.set(address, count);
      this.observer.connectionClosed(connection.closeCode ?? code ?? CloseCode.Abnormal);
    }
    if (connection.resumeTimer !== undefined) this.clock.clearTimeout(connection.resumeTimer);
    for (const subscription of connection.subscriptions.values()) this.delivery.stop(subscription);
    const session = connection.session;
    if (session !== null && session.connection === connection) {
      // Cursors of topics this connection no longer had are of no use to a resume.
      if (session.cursors !== undefined) for (const topic of session.cursors.keys()) if (!connection.subscriptions.has(topic)) session.deleteCursor(topic);
      if (!session.replaced && !this.closing) this.sessions.release(session);
    }
    connection.subscriptions.clear();
  }

  /** Publishes from application code on the server. Resolves with the offset once stored. */
  async publish(topic: string, data: unknown, options: { key?: string } = {}): Promise<{ offset?: number }> {
    // The name may come from a client of the application (the HTTP API): an error never echoes more than a name's length.
    if (!isValidTopic(topic)) throw new HoldfastError(ErrorCode.InvalidTopic, `invalid topic name "${String(topic).slice(0, MAX_NAME_LENGTH)}"`);
    const settings = this.topics.resolve(topic);
    if (settings === undefined) throw new HoldfastError(ErrorCode.UnknownTopic, `unknown topic "${topic}"`);
    const size = checkPayload(data, this.options.limits);
    if (typeof size !== 'number') throw new HoldfastError(size.code, size.message);
    const message = options.key === undefined ? { topic, data } : { topic, data, key: options.key };
    if (settings.mode === 'volatile') {
      await this.store.broadcast(message);
      return {};
    }
    const entry: AppendEntry = { ...message, compact: settings.mode === 'latest', time: this.clock.now(), size };
    if (settings.mode === 'latest') entry.maxKeys = settings.maxKeys;
    const result = await this.appends.add(entry);
    if (isRefusal(result)) throw new HoldfastError(result.refused.code, result.refused.message);
    return { offset: result.offset };
  }

  /** Registers (or replaces) a request handler. */
  handle(method: string, handler: RequestHandler): void {
    this.options.handlers[method] = handler;
  }

  /** Runs one sweep now (heartbeats, expiry, retention); the sweeper's timer does this by itself. */
  sweep(): void {
    this.sweeper.sweep();
  }

  /** Whether the store is reachable, as far as it said (a store that cannot lose its backend always is). */
  get storeAvailable(): boolean {
    return this.available;
  }

  stats(): { connections: number; sessions: number; subscriptions: number; requests: number } {
    return { connections: this.connections.size, sessions: this.sessions.size, subscriptions: this.delivery.subscriberCount(), requests: this.requests.size };
  }

  /** Closes every connection with 1001 (clients reconnect), saves sessions, stops timers. The store stays open. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.sweeper.stop();
    this.acks.flushAll();
    this.acks.stop();
    for (const connection of [...this.connections]) {
      connection.fail(ErrorCode.ServerShutdown, CloseCode.GoingAway, 'the server is shutting down', 1000);
    }
    // Every session, held until now or released, is saved as released: it expires sessionTtl from now.
    const expiresAt = this.clock.now() + this.options.sessionTtl;
    for (const session of this.sessions.values()) if (session.expiresAt === null) session.release(expiresAt);
    await this.saves.close(this.sessions.values());
    this.unlisten();
  }

  /** A store event: messages to deliver, a session taken over elsewhere, a request finished, the store's health. */
  private heard(event: StoreEvent): void {
    switch (event.kind) {
      case 'appended':
      case 'volatile':
        return this.delivery.handle(event);
      case 'session':
        return this.sessions.movedOn(event.id, event.version);
      case 'request':
        return this.requests.finished(event.key, event.outcome);
      case 'health':
        this.available = event.state === 'back';
        // Notifications may have been missed meanwhile: every live subscription reads the store.
        if (this.available) {
          this.delivery.recheck();
          this.retryStalled(this.clock.now());
        }
        return;
    }
  }

  /** Work waiting on a failed store call is tried again (the sweeper calls this, and a store that is back). */
  private retryStalled(now: number): void {
    this.saves.retry();
    this.delivery.retryBlocked();
    this.subscriptions.retryRepositions();
    this.requests.tick(now);
  }
}
