import { CloseCode, ErrorCode, type TimerHandle } from '../protocol/index.js';
import type { RetentionPolicy, TrimResult } from '../store/types.js';
import type { Connection } from './connection.js';
import type { Hub } from './hub.js';
import { dedupKey } from './inbound.js';
import { ExpiryQueue } from './expiry-queue.js';
import { RetentionSchedule } from './retention-schedule.js';
import type { Session } from './session.js';

const PING_TEXT = JSON.stringify({ type: 'ping' });
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
  /** Released sessions in expiry order: expiry visits the ones due, not every session in memory. */
  private readonly expiring = new ExpiryQueue();
  private sweeps = 0;
  /** When each topic with retained messages is next due for age retention. */
  readonly ageSchedule = new RetentionSchedule();

  constructor(private readonly hub: Hub) {}

  start(): void {
    // A timer callback that threw would end the process: whatever a sweep trips over is reported.
    this.timer ??= this.hub.clock.setInterval(() => {
      try {
        this.sweep();
      } catch (error) {
        this.hub.options.onError(error);
      }
    }, this.hub.options.sweepInterval);
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
    const { maxBufferedBytes, slowConsumerGrace } = hub.options.limits;
    if (connection.socket.bufferedAmount <= maxBufferedBytes) {
      hub.drained(connection);
      return connection.state === 'closed';
    }
    const since = (connection.congestion!.since ??= now);
    if (now - since < slowConsumerGrace) return false;
    hub.slowConsumer(connection);
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
        hub.options.onError(error);
      }
    }
    for (const part of [this.expireSessions, this.trim]) {
      try {
        part.call(this, now);
      } catch (error) {
        hub.options.onError(error);
      }
    }
    try {
      hub.retryStalled();
    } catch (error) {
      hub.options.onError(error);
    }
    this.sweeps++;
  }

  private sweepConnection(connection: Connection, now: number): void {
    const { hub } = this;
    const { interval, timeout } = hub.options.heartbeat;
    if (connection.receivedSinceSweep) connection.lastReceivedAt = now;
    if (connection.sentSinceSweep) connection.lastSentAt = now;
    connection.receivedSinceSweep = connection.sentSinceSweep = false;
    if (connection.congestion !== undefined && this.congested(connection, now)) return;
    if (connection.state === 'greeting' || connection.state === 'authenticating') {
      if (now - connection.openedAt >= hub.options.helloTimeout) {
        hub.fail(connection, ErrorCode.HelloTimeout, CloseCode.HelloTimeout, 'no hello in time');
      }
      return;
    }
    if (connection.state !== 'open') return;
    if (now - connection.lastReceivedAt >= interval + timeout) {
      hub.drop(connection, CloseCode.HeartbeatTimeout, 'heartbeat timeout');
      return;
    }
    if (now - connection.lastSentAt >= interval) connection.sendText(PING_TEXT);
    // The stored lease of a held session is renewed halfway through, so it never runs out while held.
    const session = connection.session;
    if (session !== null && session.connection === connection && now >= session.leaseUntil - hub.options.sessionTtl / 2) hub.persist(session);
  }

  /** A session's connection closed: it expires at `expiresAt` unless resumed before. */
  released(session: Session, expiresAt: number): void {
    this.expiring.add(session, expiresAt);
  }

  private expireSessions(now: number): void {
    const { hub } = this;
    for (const session of this.expiring.takeDue(now)) {
      if (hub.sessions.get(session.id) !== session) continue;
      if (session.inboundRunning) {
        // Work of the session is still running: it is looked at again after the sessions released since.
        this.expiring.add(session, session.expiresAt!);
        continue;
      }
      hub.sessions.delete(session.id);
      hub.requests.forgetSession(session, requestKeys(session));
      hub.store.deleteSession(session.id).catch(hub.options.onError);
    }
    if (this.sweeps % SLOW_SWEEP_EVERY === 0) hub.store.sweep(now).catch(hub.options.onError);
  }

  /**
   * Count retention for topics appended to since the last sweep; age retention for the topics whose
   * oldest message has come of age. Never a pass over every topic: idle topics cost nothing here.
   */
  private trim(now: number): void {
    const touched = this.hub.delivery.touched;
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
        hub.options.onError(error);
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

function* requestKeys(session: Session): Iterable<string> {
  for (const reply of session.ledger.replies.values()) if (reply.id !== undefined) yield dedupKey(session, reply.id);
}
