import { CloseCode, ErrorCode, type TimerHandle } from '../protocol/index.js';
import type { Connection } from './connection.js';
import type { Hub } from './hub.js';
import { dedupKey } from './inbound.js';
import type { Session } from './session.js';

const PING_TEXT = JSON.stringify({ type: 'ping' });
/** Age-based retention and the store's own expiry run every this many sweeps, not every one. */
const SLOW_SWEEP_EVERY = 30;

/**
 * The one timer behind heartbeats, hello timeouts, session expiry and retention: never a timer
 * per connection. Each sweep turns the "something moved" flags that sending and receiving set
 * into timestamps, so the hot path never reads the clock.
 */
export class Sweeper {
  private timer: TimerHandle | undefined;
  private sweeps = 0;
  private readonly knownTopics = new Set<string>();

  constructor(private readonly hub: Hub) {}

  start(): void {
    this.timer ??= this.hub.clock.setInterval(() => this.sweep(), this.hub.options.sweepInterval);
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

  sweep(): void {
    const { hub } = this;
    const now = hub.clock.now();
    const { interval, timeout } = hub.options.heartbeat;
    for (const connection of hub.connections) {
      if (connection.receivedSinceSweep) connection.lastReceivedAt = now;
      if (connection.sentSinceSweep) connection.lastSentAt = now;
      connection.receivedSinceSweep = connection.sentSinceSweep = false;
      if (connection.congestion !== undefined && this.congested(connection, now)) continue;
      if (connection.state === 'greeting' || connection.state === 'authenticating') {
        if (now - connection.openedAt >= hub.options.helloTimeout) {
          hub.fail(connection, ErrorCode.HelloTimeout, CloseCode.HelloTimeout, 'no hello in time');
        }
        continue;
      }
      if (connection.state !== 'open') continue;
      if (now - connection.lastReceivedAt >= interval + timeout) {
        hub.drop(connection, CloseCode.HeartbeatTimeout, 'heartbeat timeout');
      } else if (now - connection.lastSentAt >= interval) {
        connection.sendText(PING_TEXT);
      }
    }
    this.expireSessions(now);
    this.trim(now);
    hub.retryStalled();
    this.sweeps++;
  }

  private expireSessions(now: number): void {
    const { hub } = this;
    for (const [id, session] of hub.sessions) {
      if (session.connection === null && session.expiresAt !== null && session.expiresAt <= now && !session.inboundRunning) {
        hub.sessions.delete(id);
        hub.requests.forgetSession(session, requestKeys(session));
        hub.store.deleteSession(id).catch(hub.options.onError);
      }
    }
    if (this.sweeps % SLOW_SWEEP_EVERY === 0) hub.store.sweep(now).catch(hub.options.onError);
  }

  /** Count retention for topics appended to since the last sweep; age retention for all, now and then. */
  private trim(now: number): void {
    const { hub } = this;
    const topics = hub.delivery.touched;
    for (const topic of topics) this.knownTopics.add(topic);
    const due = this.sweeps % SLOW_SWEEP_EVERY === 0 ? this.knownTopics : topics;
    for (const topic of due) {
      const settings = hub.topics.resolve(topic);
      if (settings?.mode !== 'reliable') continue;
      hub.store.trim(topic, settings.retention, now).catch(hub.options.onError);
    }
    topics.clear();
  }
}

function* requestKeys(session: Session): Iterable<string> {
  for (const reply of session.ledger.replies.values()) if (reply.id !== undefined) yield dedupKey(session, reply.id);
}
