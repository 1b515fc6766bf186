import type { TimerHandle } from '../protocol/clock.js';
import { CloseCode, ErrorCode, isRetryableClose } from '../protocol/codes.js';
import { PROTOCOL_DEFAULTS } from '../protocol/defaults.js';
import { HoldfastError } from '../protocol/errors.js';
import type { ClientFrame, ErrorFrame, ServerFrame, WelcomeFrame } from '../protocol/frames.js';
import { Backoff } from './backoff.js';
import { closeError } from './close-error.js';
import { ConnectAttempt } from './connect-attempt.js';
import { Emitter, describeError } from './emitter.js';
import type { ClientEvents, ClientState, MessageListener, PublishOptions, RequestOptions, StateChange, SubscribeOptions } from './events.js';
import { HeartbeatWatchdog } from './heartbeat-watchdog.js';
import { resolveOptions, type ClientOptions, type ResolvedOptions } from './options.js';
import { ClientSession } from './session.js';
import type { Subscription } from './subscription.js';

type ClientEventArgs = { [E in keyof ClientEvents]: [ClientEvents[E]] };

/**
 * The Holdfast client: one WebSocket at a time, reconnecting with backoff, resuming its session,
 * resending unacknowledged frames and resubscribing from positions, so the application neither loses
 * a message nor sees one twice (PROTOCOL.md). The connection state machine lives here; what
 * outlives a connection (outbox, acks, subscriptions) lives in ClientSession.
 */
export class HoldfastClient {
  private current: ClientState = 'idle';
  private readonly options: ResolvedOptions;
  private readonly events: Emitter<ClientEventArgs>;
  private readonly backoff: Backoff;
  private readonly watchdog: HeartbeatWatchdog;
  private readonly clientSession: ClientSession;
  private attempt: ConnectAttempt | undefined;
  /** The current attempt got its `welcome`: frames other than `hello` may be sent. */
  private welcomed = false;
  private retryTimer: TimerHandle | undefined;
  /** The server's `error` frame, while it is the last frame received (a close may follow it). */
  private lastError: ErrorFrame | undefined;
  private stopWatchingEnvironment: (() => void) | undefined;

  constructor(options: ClientOptions) {
    this.options = resolveOptions(options);
    const { clock } = this.options;
    this.events = new Emitter<ClientEventArgs>((error, event) => {
      // A throwing 'error' listener is dropped rather than reported to itself in a loop.
      if (event !== 'error') this.reportError(new HoldfastError(ErrorCode.HandlerError, `a '${event}' listener threw: ${describeError(error)}`, { cause: error }));
    });
    this.backoff = new Backoff(this.options.reconnect, this.options.random);
    this.watchdog = new HeartbeatWatchdog(clock, () => this.lost(CloseCode.HeartbeatTimeout, 'heartbeat timeout', true));
    this.clientSession = new ClientSession(this.options, {
      send: (frame) => this.send(frame),
      reportError: (error) => this.reportError(error),
    });
    if (this.options.autoConnect) this.connect();
  }

  get state(): ClientState {
    return this.current;
  }

  /** The current session id (kept across disconnects; undefined before the first welcome). */
  get session(): string | undefined {
    return this.clientSession.resume?.session;
  }

  /** Reliable publishes and requests waiting for the server's confirmation. */
  get pending(): number {
    return this.clientSession.pending;
  }

  /**
   * Settles when every publish made so far is written to `outboxStorage` (at once without one):
   * from then on a reload cannot lose them.
   */
  outboxStored(): Promise<void> {
    return this.clientSession.stored();
  }

  /** Starts connecting. Does nothing unless the client is 'idle' (idempotent; 'closed' is final). */
  connect(): void {
    if (this.current !== 'idle') return;
    const { environment } = this.options;
    // Back online, or the user looks at the page again: waiting out the backoff helps nobody.
    const wake = (): void => {
      if (this.current === 'reconnecting' || this.current === 'offline') this.startAttempt();
    };
    const stopOnline = environment.onOnline(wake);
    const stopVisible = environment.onVisible(wake);
    const stopOffline = environment.onOffline?.(() => this.wentOffline());
    this.stopWatchingEnvironment = () => {
      stopOnline();
      stopVisible();
      stopOffline?.();
    };
    this.startAttempt();
  }

  /** Closes for good: socket closed with 1000, timers cleared, pending operations rejected with CLIENT_CLOSED. */
  close(): void {
    if (this.isClosed()) return;
    if (this.welcomed) this.clientSession.flushAcks(); // the last positions still reach the server's cursors
    this.attempt?.close(CloseCode.Normal, 'client closed');
    const error = new HoldfastError(ErrorCode.ClientClosed, 'the client was closed');
    this.finish(CloseCode.Normal, 'client closed', error, 'unsubscribed', this.welcomed);
  }

  /**
   * Drops the current connection abruptly, as a network failure would (close code 1006): the client
   * reconnects by its usual policy and resumes its session. For trying reconnects out (the demo's
   * button, a test); does nothing while not connected.
   */
  dropConnection(): void {
    if (this.attempt === undefined || this.isClosed()) return;
    this.lost(CloseCode.Abnormal, 'dropped by the application', false);
  }

  on<E extends keyof ClientEvents>(event: E, listener: (payload: ClientEvents[E]) => void): () => void {
    return this.events.on(event, listener as (...args: ClientEventArgs[E]) => void);
  }

  /**
   * Publishes `data` to `topic`. Reliable (default): kept in the outbox and resent until the server
   * acknowledges it; resolves on the ack, rejects with the server's code on a rejecting reply.
   * `reliable: false`: fire-and-forget; resolves at once, written only if the client is open, so it
   * may be lost. `undefined` data is sent as `null`.
   */
  publish(topic: string, data: unknown, options: PublishOptions = {}): Promise<void> {
    const closed = this.closedError();
    return closed === undefined ? this.clientSession.publish(topic, data, options) : Promise.reject(closed);
  }

  /** Calls a server handler; resolves with the reply's data, rejects with its error code. */
  request(method: string, data: unknown, options: RequestOptions = {}): Promise<unknown> {
    const closed = this.closedError();
    return closed === undefined ? this.clientSession.request(method, data, options.timeout) : Promise.reject(closed);
  }

  /** Subscribes to `topic`; a second call for the same topic returns the same Subscription. */
  subscribe(topic: string, onMessage?: MessageListener, options: SubscribeOptions = {}): Subscription {
    const closed = this.closedError();
    if (closed !== undefined) return this.clientSession.stillborn(topic, options, closed);
    return this.clientSession.subscribe(topic, onMessage, options);
  }

  // ---- connection lifecycle ----

  private startAttempt(): void {
    this.clearRetryTimer();
    const attempt: ConnectAttempt = new ConnectAttempt({ ...this.options, resume: this.clientSession.resume }, {
      frame: (frame) => attempt === this.attempt && this.receive(frame),
      invalid: (error) => {
        if (attempt !== this.attempt) return;
        this.watchdog.touch(); // garbage from the server still proves the link is alive
        this.reportError(error);
      },
      lost: (code, reason) => attempt === this.attempt && this.lost(code, reason, false),
    });
    this.attempt = attempt;
    const retry = this.backoff.attempt;
    this.setState('connecting', retry > 0 ? { attempt: retry } : {});
    if (attempt === this.attempt) attempt.start(); // unless a 'state' listener closed the client
  }

  /** The connection ended or never came up: retry, wait for the network, or close for good. */
  private lost(code: number, reason: string, deadLink: boolean): void {
    if (this.isClosed()) return;
    const wasOpen = this.welcomed;
    const hint = this.lastError;
    this.endConnection();
    if (!isRetryableClose(code)) {
      this.finish(code, reason, closeError(code, reason, hint), 'failed', wasOpen);
      return;
    }
    const now = this.options.clock.now();
    this.backoff.lost(now);
    if (!this.options.environment.isOnline()) {
      // No timer: retrying without a network only burns attempts. The 'online' event wakes us.
      if (wasOpen) this.events.emit('disconnect', { code, reason, willReconnect: true });
      if (!this.isClosed()) this.setState('offline', { code, reason });
      return;
    }
    const plan = this.backoff.next(now, { retryAfter: hint?.retryAfter, immediate: deadLink });
    if (!plan.retry) {
      this.finish(code, reason, new HoldfastError(ErrorCode.ReconnectExhausted, plan.reason), 'failed', wasOpen);
      return;
    }
    this.retryTimer = this.options.clock.setTimeout(() => this.startAttempt(), plan.delay);
    if (wasOpen) this.events.emit('disconnect', { code, reason, willReconnect: true });
    if (this.isClosed()) return; // a 'disconnect' listener called close()
    this.setState('reconnecting', { attempt: plan.attempt, delay: plan.delay, retryAt: now + plan.delay, code, reason });
  }

  /**
   * The host says the network is gone. The socket is dropped at once rather than left to the
   * heartbeat: a browser keeps a WebSocket whose network vanished "open" until TCP gives up, and
   * every publish meanwhile would go into a dead socket instead of waiting visibly in the outbox.
   */
  private wentOffline(): void {
    if (this.isClosed()) return;
    if (this.attempt !== undefined) return this.lost(CloseCode.Abnormal, 'the network went offline', false);
    if (this.current === 'reconnecting' && !this.options.environment.isOnline()) {
      this.clearRetryTimer(); // the 'online' event wakes us; retrying without a network burns attempts
      this.setState('offline');
    }
  }

  /** Forgets the current connection and everything tied to it. */
  private endConnection(final = false): void {
    this.attempt?.close(); // no-op when the socket is already closed
    this.attempt = undefined;
    this.welcomed = false;
    this.lastError = undefined;
    this.clearRetryTimer();
    this.watchdog.stop();
    if (!final) this.clientSession.disconnected(); // a final close ends the subscriptions instead
  }

  /** The one way into 'closed'. */
  private finish(code: number, reason: string, error: HoldfastError, subscriptionState: 'unsubscribed' | 'failed', wasOpen: boolean): void {
    this.endConnection(true);
    this.stopWatchingEnvironment?.();
    this.stopWatchingEnvironment = undefined;
    this.clientSession.close(error, subscriptionState);
    if (wasOpen) this.events.emit('disconnect', { code, reason, willReconnect: false });
    this.setState('closed', { code, reason, final: true, error });
  }

  private setState(newState: ClientState, details: Omit<StateChange, 'oldState' | 'newState'> = {}): void {
    const oldState = this.current;
    this.current = newState;
    this.events.emit('state', { oldState, newState, ...details });
  }

  // A method, not `this.current === 'closed'`: TypeScript would keep that narrowing across listener calls.
  private isClosed(): boolean {
    return this.current === 'closed';
  }

  private closedError(): HoldfastError | undefined {
    return this.isClosed() ? new HoldfastError(ErrorCode.ClientClosed, 'the client is closed') : undefined;
  }

  private clearRetryTimer(): void {
    if (this.retryTimer !== undefined) this.options.clock.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  // ---- incoming frames ----

  private receive(frame: ServerFrame): void {
    this.watchdog.touch();
    this.lastError = frame.type === 'error' ? frame : undefined;
    switch (frame.type) {
      case 'welcome':
        return this.welcome(frame);
      case 'ping':
        this.attempt?.send({ type: 'pong' });
        return;
      case 'error':
        if (!this.clientSession.refusal(frame)) {
          this.reportError(new HoldfastError(frame.code, frame.message, frame.retryAfter === undefined ? {} : { retryAfter: frame.retryAfter }));
        }
        return;
    }
    // Nothing else has a meaning before the session exists.
    if (this.welcomed) this.clientSession.receive(frame);
  }

  private welcome(frame: WelcomeFrame): void {
    if (this.welcomed || this.attempt === undefined) return;
    const attempt = this.attempt;
    attempt.welcomed();
    const interval = frame.heartbeat?.interval;
    this.watchdog.start((typeof interval === 'number' && interval > 0 ? interval : PROTOCOL_DEFAULTS.heartbeat.interval) + this.options.heartbeatGrace);
    this.backoff.connected(this.options.clock.now());
    this.welcomed = true;
    this.clientSession.welcome(frame); // resends everything owed before any listener runs
    this.setState('open');
    if (attempt === this.attempt) this.events.emit('open', { session: frame.session, resumed: frame.resumed });
  }

  // ---- outgoing frames ----

  /** Writes a frame on the welcomed connection; false when there is none (the caller keeps it). */
  private send(frame: ClientFrame): boolean {
    return this.welcomed && this.attempt !== undefined && this.attempt.send(frame);
  }

  private reportError(error: HoldfastError): void {
    this.events.emit('error', error);
  }
}
