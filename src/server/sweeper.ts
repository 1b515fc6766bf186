import { CloseCode, encodeFrame, ErrorCode, type Clock, type TimerHandle } from '../protocol/index.js';
import type { RetentionPolicy, Store, TrimResult } from '../store/types.js';
import type { Connection } from './connection.js';
import type { ResolvedLimits } from './options.js';
import { RetentionSchedule } from './retention-schedule.js';
import type { HubSession, SessionDirectory } from './session-directory.js';
import type { SessionSaves } from './session-saves.js';
import type { TopicDirectory } from './topics.js';

/** What the sweeper needs of the hub. */
export interface SweeperContext {
  readonly clock: Clock;
  readonly heartbeat: { interval: number; timeout: number };
  readonly helloTimeout: number;
  readonly sweepInterval: number;
  readonly sessionTtl: number;
  readonly limits: ResolvedLimits;
  readonly onError: (error: unknown) => void;
  readonly connections: Iterable<Connection>;
  readonly sessions: SessionDirectory;
  readonly saves: SessionSaves<HubSession>;
  readonly store: Pick<Store, 'sweep' | 'trim'>;
  readonly topics: Pick<TopicDirectory, 'resolve'>;
  /** Topics this node appended to since the last sweep (retention by count is due for them). */
  readonly appendedTopics: Set<string>;
  /** A congested connection's buffer is back under the limit. */
  drained(connection: Connection): void;
  /** Work that waits on a failed store call (reads, repositions, request leases) is tried again. */
  retryStalled(now: number): void;
  /** A connection was dropped for not answering heartbeats (for metrics). */
  heartbeatTimedOut(): void;
}

const PING_TEXT = encodeFrame({ type: 'ping' });
/** The store's own expiry (sessions, de-duplication ids) runs every this many sweeps, not every one. */
const SLOW_SWEEP_EVERY = 30;
/** Age trims started per sweep at most: topics falling due together are spread over sweeps. */
export const MAX_AGE_TRIMS_PER_SWEEP = 1000;

/**
 * The one timer behind heartbeats, hello timeouts, session expiry and retention: never a timer
 * per connection. Each sweep turns the "something moved" flags that sending and receiving set
 * into timestamps, so the hot path never reads the clock.
 */
export class Sweeper {
  private timer: TimerHandle | undefined;
  private sweeps = 0;
  /** When each topic with retained messages is next due for age retention. */
  readonly ageSchedule = new RetentionSchedule();

  constructor(private readonly hub: SweeperContext) {}

  start(): void {
    // A timer callback that threw would end the process: whatever a sweep trips over is reported.
    this.timer ??= this.hub.clock.setInterval(() => {
      try {
        this.sweep();
      } catch (error) {
        this.hub.onError(error);
      }
    }, this.hub.sweepInterval);
  }

  stop(): void {
    if (this.timer !== undefined) this.hub.clock.clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * A congested connection whose buffer drained without the transport saying so reads on; one over
   * the limit for `slowConsumerGrace` is closed with SLOW_CONSUMER. True when it was closed.
   */
  private congested(connection: Connection, now: number): boolean {
    const { hub } = this;
    const { maxBufferedBytes, slowConsumerGrace } = hub.limits;
    if (connection.bufferedAmount <= maxBufferedBytes) {
      hub.drained(connection);
      return connection.isClosed();
    }
    const since = (connection.congestion!.since ??= now);
    if (now - since < slowConsumerGrace) return false;
    connection.slowConsumer();
    return true;
  }

  /**
   * One pass. Each part, and each connection, is guarded on its own: whatever one trips over is
   * reported, and the other connections still get their heartbeats and the other parts still run.
   */
  sweep(): void {
    const { hub } = this;
    const now = hub.clock.now();
    for (const connection of hub.connections) {
      try {
        this.sweepConnection(connection, now);
      } catch (error) {
        hub.onError(error);
      }
    }
    for (const part of [this.expireSessions, this.trim, hub.retryStalled]) {
      try {
        part.call(this, now);
      } catch (error) {
        hub.onError(error);
      }
    }
    this.sweeps++;
  }

  private sweepConnection(connection: Connection, now: number): void {
    const { hub } = this;
    const { interval, timeout } = hub.heartbeat;
    if (connection.receivedSinceSweep) connection.lastReceivedAt = now;
    if (connection.sentSinceSweep) connection.lastSentAt = now;
    connection.receivedSinceSweep = connection.sentSinceSweep = false;
    if (connection.congestion !== undefined && this.congested(connection, now)) return;
    if (connection.state === 'greeting' || connection.state === 'authenticating') {
      if (now - connection.openedAt >= hub.helloTimeout) connection.fail(ErrorCode.HelloTimeout, CloseCode.HelloTimeout, 'no hello in time');
      return;
    }
    if (connection.state !== 'open') return;
    if (now - connection.lastReceivedAt >= interval + timeout) {
      connection.drop(); // no close handshake with a peer that stopped answering
      hub.heartbeatTimedOut();
      return;
    }
    if (now - connection.lastSentAt >= interval) connection.sendText(PING_TEXT);
    // The stored lease of a held session is renewed halfway through, so it never runs out while held.
    const session = connection.session;
    if (session !== null && session.connection === connection && now >= session.leaseUntil - hub.sessionTtl / 2) {
      session.renewLease();
      hub.saves.request(session);
    }
  }

  private expireSessions(now: number): void {
    const { hub } = this;
    hub.sessions.expire(now);
    if (this.sweeps % SLOW_SWEEP_EVERY === 0) hub.store.sweep(now).catch(hub.onError);
  }

  /**
   * Count retention for topics appended to since the last sweep; age retention for the topics whose
   * oldest message has come of age. Never a pass over every topic: idle topics cost nothing here.
   */
  private trim(now: number): void {
    const touched = this.hub.appendedTopics;
    for (const topic of touched) this.trimTopic(topic, now);
    for (const topic of this.ageSchedule.takeDue(now, MAX_AGE_TRIMS_PER_SWEEP)) if (!touched.has(topic)) this.trimTopic(topic, now);
    touched.clear();
  }

  private trimTopic(topic: string, now: number): void {
    const { hub } = this;
    const settings = hub.topics.resolve(topic);
    if (settings?.mode !== 'reliable') return this.ageSchedule.delete(topic);
    const { retention } = settings;
    hub.store.trim(topic, retention, now).then(
      (result) => this.reschedule(topic, retention, result),
      (error: unknown) => {
        hub.onError(error);
        // Tried again next sweep, so a failed trim is not forgotten until the topic is appended to.
        if (!this.ageSchedule.has(topic)) this.ageSchedule.set(topic, now);
      },
    );
  }

  /** Due again once the oldest message retained is older than maxAgeMs; a topic retaining nothing was forgotten by the store. */
  private reschedule(topic: string, retention: RetentionPolicy, result: TrimResult): void {
    const { maxAgeMs } = retention;
    if (result.oldest === undefined || maxAgeMs === undefined || !Number.isFinite(maxAgeMs)) this.ageSchedule.delete(topic);
    else this.ageSchedule.set(topic, result.oldest + maxAgeMs + 1);
  }
}
