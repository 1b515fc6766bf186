import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { CloseCode, type TopicMode } from '../protocol/index.js';
import type { Hub } from '../server/hub.js';
import type { HubObserver } from '../server/observer.js';

/**
 * The standalone server's Prometheus metrics. A registry of its own, not prom-client's global one,
 * so that several servers in one process (tests, an embedding application) do not collide.
 */
export interface ServerMetrics {
  readonly registry: Registry;
  /** Given to the hub (`ServerOptions.observer`); the counters move as it calls. */
  readonly observer: HubObserver;
  /** The hub whose `stats()` the gauges read on each scrape; set once the server exists. */
  attach(hub: Pick<Hub, 'stats'>): void;
}

/**
 * Close codes labelled as themselves: the protocol's, and the WebSocket layer's a client may send.
 * Any other (a client may close with any of 3000–4999) is `other`, so that clients cannot make
 * the server keep thousands of series.
 */
const LABELLED_CLOSE_CODES: ReadonlySet<number> = new Set<number>([...Object.values(CloseCode), 1005, 1011]);

export function closeCodeLabel(code: number): string {
  return LABELLED_CLOSE_CODES.has(code) ? String(code) : 'other';
}

export function createServerMetrics(): ServerMetrics {
  const registry = new Registry();
  // Event-loop lag, heap, CPU, file descriptors: what tells an overloaded process from a quiet one.
  collectDefaultMetrics({ register: registry });
  let hub: Pick<Hub, 'stats'> | undefined;

  // Gauges read the hub on collect: nothing to keep in step, and a scrape sees the present.
  const gauge = (name: string, help: string, key: 'connections' | 'sessions' | 'subscriptions') =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        if (hub !== undefined) this.set(hub.stats()[key]);
      },
    });
  gauge('holdfast_connections', 'Open WebSocket connections', 'connections');
  gauge('holdfast_sessions', 'Sessions held in memory (connected, or waiting sessionTtl for a resume)', 'sessions');
  gauge('holdfast_subscriptions', 'Live subscriptions over all connections', 'subscriptions');

  const connectionsOpened = new Counter({ name: 'holdfast_connections_opened_total', help: 'Connections accepted', registers: [registry] });
  const connectionsClosed = new Counter({
    name: 'holdfast_connections_closed_total',
    help: 'Accepted connections closed, by WebSocket close code (the one the server sent, else the peer\'s; 1006 without one; other for codes outside the protocol)',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  const messagesIn = new Counter({
    name: 'holdfast_messages_in_total',
    help: 'Client publishes to a known topic taken in for handling, by topic mode',
    labelNames: ['mode'] as const,
    registers: [registry],
  });
  const messagesOut = new Counter({
    name: 'holdfast_messages_out_total',
    help: 'Messages written to subscribers, by topic mode (one per subscriber)',
    labelNames: ['mode'] as const,
    registers: [registry],
  });
  const heartbeatTimeouts = new Counter({
    name: 'holdfast_heartbeat_timeouts_total',
    help: 'Connections dropped for not answering heartbeats',
    registers: [registry],
  });
  const acks = new Counter({
    name: 'holdfast_acks_sent_total',
    help: 'ack frames sent to clients; cumulative, so one may acknowledge many publishes',
    registers: [registry],
  });
  const duplicates = new Counter({
    name: 'holdfast_duplicates_dropped_total',
    help: 'Reliable publishes the store already held (same id within the de-duplication window): acknowledged, not stored again',
    registers: [registry],
  });
  const storeSeconds = new Histogram({
    name: 'holdfast_store_operation_seconds',
    help: 'Wall time of store calls, failed ones included (append: one group-commit batch of publishes)',
    labelNames: ['operation'] as const,
    // From an in-memory append (well under 1 ms) to a stalled Redis or disk (seconds).
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  storeSeconds.zero({ operation: 'append' });
  const replays = new Histogram({
    name: 'holdfast_replay_messages',
    help: 'Messages a resumed subscription had to catch up on (head minus its position; an upper bound on latest topics)',
    buckets: [0, 1, 10, 100, 1000, 10000, 100000],
    registers: [registry],
  });
  const snapshots = new Counter({
    name: 'holdfast_snapshots_sent_total',
    help: 'Snapshots sent to subscribers that lost their position, instead of the messages they missed',
    registers: [registry],
  });
  // Zero from the start, so that a rate() over the first scrapes is not missing a series.
  for (const mode of ['reliable', 'volatile', 'latest'] satisfies TopicMode[]) {
    messagesIn.labels(mode).inc(0);
    messagesOut.labels(mode).inc(0);
  }

  const observer: HubObserver = {
    connectionOpened: () => connectionsOpened.inc(),
    connectionClosed: (code) => connectionsClosed.labels(closeCodeLabel(code)).inc(),
    messageIn: (mode) => messagesIn.labels(mode).inc(),
    messageOut: (mode, count) => messagesOut.labels(mode).inc(count),
    heartbeatTimeout: () => heartbeatTimeouts.inc(),
    replay: (size) => replays.observe(size),
    snapshotSent: () => snapshots.inc(),
    ackSent: () => acks.inc(),
    duplicateDropped: () => duplicates.inc(),
    storeOperation: (operation, ms) => storeSeconds.labels(operation).observe(ms / 1000),
  };
  return {
    registry,
    observer,
    attach(target) {
      hub = target;
    },
  };
}
