/**
 * The shape of `bench/results/latest.json`: what `npm run bench` measured, per workload and per
 * system under test. bench/report/* renders it into bench/RESULTS.md and the PNG chart.
 *
 * Every workload maps a system id to its figures, to `{ error }` when the run failed, or to
 * `{ notApplicable }` when the system has no such feature (raw `ws` has no catch-up).
 */
import type { HostileResults } from '../hostile/figures.js';
import type { MemorySample, SqliteStallResult, ThroughputResult } from './ipc.js';

/** The systems under test, in the order tables and charts list them. */
export const SYSTEM_IDS = ['ws', 'socketio', 'socketioRecovery', 'mqtt', 'holdfastVolatile', 'holdfastMemory', 'holdfastSqlite', 'holdfastRedis'] as const;
export type SystemId = (typeof SYSTEM_IDS)[number];

export const SYSTEM_LABELS: Record<SystemId, string> = {
  ws: 'raw ws',
  socketio: 'Socket.IO 4 (emit + ack)',
  socketioRecovery: 'Socket.IO 4, connection state recovery',
  mqtt: 'MQTT QoS 1 (Mosquitto + mqtt.js)',
  holdfastVolatile: 'Holdfast volatile',
  holdfastMemory: 'Holdfast reliable, memory store',
  holdfastSqlite: 'Holdfast reliable, SQLite store',
  holdfastRedis: 'Holdfast reliable, Redis store',
};

/**
 * The systems of the cluster workloads (bench/lib/cluster.ts): each on one and on two nodes
 * sharing one private redis-server.
 */
export const CLUSTER_SYSTEM_IDS = ['socketioRedis', 'socketioStreams', 'holdfastRedis'] as const;
export type ClusterSystemId = (typeof CLUSTER_SYSTEM_IDS)[number];

export const CLUSTER_SYSTEM_LABELS: Record<ClusterSystemId, string> = {
  socketioRedis: 'Socket.IO 4 + redis-adapter (pub/sub)',
  socketioStreams: 'Socket.IO 4 + redis-streams-adapter, connection state recovery',
  holdfastRedis: 'Holdfast reliable, Redis store',
};

export type Failed = { error: string };
export type NotApplicable = { notApplicable: string };
export type Entry<T> = T | Failed | NotApplicable;
export type PerSystem<T> = Partial<Record<SystemId, Entry<T>>>;
export type PerClusterSystem<T> = Partial<Record<ClusterSystemId, Entry<T>>>;

export const isFigures = <T extends object>(entry: Entry<T> | undefined): entry is T =>
  entry !== undefined && !('error' in entry) && !('notApplicable' in entry);

/** Workload 1: one client, `inFlight` publishes awaiting their confirmation, closed loop. */
export interface ThroughputFigures extends ThroughputResult {
  /** Median of the windows' rates: the headline figure. */
  messagesPerSecond: number;
  /** Server process CPU use during the measured windows, 0..1 of one core. */
  serverCpu: number | undefined;
  /** CPU of everything else on the machine meanwhile, in cores; well above 0 means disturbed figures. */
  otherCpu: number | undefined;
}

/** Workload 2: one publisher, `subscribers` subscribers of one topic. */
export interface FanoutFigures {
  subscribers: number;
  /** Messages published during the measured interval. */
  published: number;
  /** Messages received by all subscribers together during the measured interval. */
  deliveries: number;
  /** deliveries / second over the measured interval: the headline figure. */
  deliveriesPerSecond: number;
  measuredMs: number;
  /** Publishes whose delivery to every subscriber was not seen before the end (expected 0 on reliable systems). */
  incomplete: number;
  serverCpu: number | undefined;
  loadCpu: number;
  errors: Record<string, number>;
}

/** Workload 3: publish → delivery to another connection at a fixed rate; milliseconds. */
export interface LatencyFigures {
  ratePerSecond: number;
  durationMs: number;
  sent: number;
  received: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
  errors: Record<string, number>;
}

/** Workload 4: server memory before and after `requested` idle connections. */
export interface MemoryFigures {
  requested: number;
  opened: number;
  failed: number;
  openMs: number;
  openErrors: Record<string, number>;
  before: MemorySample;
  after: MemorySample;
  /** Bytes per connection; heapUsed and external are absent for a server that is not a Node process. */
  perConnection: { rss: number; heapUsed?: number; external?: number };
}

/** Workload 5: a subscriber misses `messages`, then reconnects. */
export interface CatchupFigures {
  messages: number;
  /** From the reconnect until the last missed message arrived, ms; NaN (null in JSON) when none arrived. */
  catchupMs: number;
  /** The same number of messages received live: from the first publish to the last arrival, ms. */
  liveMs: number;
  /** Missed messages the subscriber got after reconnecting (all of them on a system that keeps its promise). */
  received: number;
  /** Messages received more than once, or out of order. */
  duplicates: number;
  outOfOrder: number;
  /** Whether the system said it recovered the session/stream. */
  recovered: boolean | undefined;
  errors: Record<string, number>;
}

/** Workload 6: `clients` connected clients; the server is killed and started again. */
export interface StormFigures {
  clients: number;
  /** The server was down this long (kill → listening again), ms. */
  downMs: number;
  /** From the server listening again until every client was connected again, ms. */
  allBackMs: number;
  /** Clients connected again by the end (should be `clients`). */
  back: number;
  /** Of those, how many continued their session/stream rather than starting afresh. */
  resumed: number;
  /** Connection attempts in the busiest second (sliding over 100 ms buckets), from the kill on. */
  peakAttemptsPerSecond: number;
  attempts: number;
  /** Attempts per 100 ms bucket from the kill on (for the record; the chart does not draw it). */
  attemptsPer100ms: number[];
  errors: Record<string, number>;
}

/** Cluster workload 1: closed-loop publish + confirmation, one client per node. */
export interface ClusterThroughputFigures extends ThroughputFigures {
  nodes: number;
}

/** Cluster workload 4: clients on a node that is SIGKILLed while a publisher on the other node goes on. */
export interface FailoverFigures {
  clients: number;
  /** Load processes the clients were spread over. */
  loadProcesses: number;
  /** The publisher's rate (on the surviving node), messages per second. */
  ratePerSecond: number;
  /** How the clients reached the surviving node. */
  route: string;
  /** Clients whose connection the kill took (all of them, when the balancer sent every one to the killed node). */
  onKilledNode: number;
  /** Of those, connected again by the end. */
  reconnected: number;
  /** Of those, how many the system said recovered their session/state. */
  recovered: number;
  /** From the kill until the last of them was connected again, ms (NaN: not all). */
  allReconnectedMs: number;
  /** From the kill until each of them received a message published after it reconnected, ms (NaN: not all). */
  allReceivingMs: number;
  /**
   * From the kill until each of them had every message, without a gap, up to one published after
   * it reconnected: resumed and caught up (NaN: not all, e.g. a gap never filled).
   */
  allCompleteMs: number;
  /** Median of the clients' complete times, ms. */
  completeP50Ms: number;
  /** Median of the clients' reconnect times, ms. */
  reconnectP50Ms: number;
  /** Connection attempts after the kill, all clients together (one each when every first try worked). */
  attempts: number;
  /** Clients complete by the end. */
  complete: number;
  /** Messages the publisher sent, and of those confirmed (acknowledged) by the system. */
  published: number;
  acknowledged: number;
  /** Deliveries missing at the end: (client, acknowledged message) pairs never received. */
  lost: number;
  /** Clients with at least one lost message. */
  clientsWithLosses: number;
  /** Messages a client received more than once. */
  duplicates: number;
  /** From the first client's connect to the last one subscribed, ms. */
  openMs: number;
  errors: Record<string, number>;
}

export interface ClusterSizes {
  nodes: number;
  inFlight: number;
  warmupMs: number;
  windowMs: number;
  windows: number;
  subscribers: number;
  latencyRate: number;
  latencyMs: number;
  failoverClients: number;
  failoverRate: number;
  failoverTimeoutMs: number;
  redisFsync: string;
}

/** The cluster workloads (`--only=cluster`), each key filled when that workload ran. */
export interface ClusterResults {
  sizes: ClusterSizes;
  throughput?: { oneNode: PerClusterSystem<ClusterThroughputFigures>; twoNodes: PerClusterSystem<ClusterThroughputFigures> } | undefined;
  /** Publisher on node A, subscribers spread over both nodes. */
  fanout?: PerClusterSystem<FanoutFigures> | undefined;
  /** Publisher and subscriber on one node; publisher on node A and subscriber on node B. */
  latency?: { oneNode: PerClusterSystem<LatencyFigures>; crossNode: PerClusterSystem<LatencyFigures> } | undefined;
  failover?: PerClusterSystem<FailoverFigures> | undefined;
}

/** A target of the issue, judged within one run. */
export interface TargetCheck {
  name: string;
  /** The measured ratio (or value), undefined when an input failed. */
  value: number | undefined;
  /** What it must be: `value >= min` or `value <= max`. */
  min?: number;
  max?: number;
  met: boolean | undefined;
  /** How the value is computed, in words. */
  how: string;
  /** The value's unit when it is not a ratio (`s`, `messages`). */
  unit?: string;
}

export interface BenchResults {
  date: string;
  quick: boolean;
  partial: boolean;
  command: string;
  node: string;
  v8: string;
  platform: string;
  cpuModel: string;
  cpuCount: number;
  pinning: { server: number; load: number } | string;
  loadAverageAtStart: number[];
  loadAverageAtEnd: number[];
  durationSeconds: number;
  versions: Record<string, string>;
  sizes: {
    payloadBytes: number;
    inFlight: number;
    warmupMs: number;
    windowMs: number;
    windows: number;
    subscribers: number;
    latencyRate: number;
    latencyMs: number;
    idleConnections: number;
    catchupMessages: number;
    stormClients: number;
  };
  notes: string[];
  workloads: {
    throughput: PerSystem<ThroughputFigures>;
    fanout: PerSystem<FanoutFigures>;
    latency: PerSystem<LatencyFigures>;
    memory: PerSystem<MemoryFigures>;
    catchup: PerSystem<CatchupFigures>;
    storm: PerSystem<StormFigures>;
  };
  targets: TargetCheck[];
  sqliteStall: SqliteStallResult | Failed | undefined;
  /** One hostile connection per flood against a fresh Holdfast server (bench/hostile/). */
  hostile?: HostileResults | undefined;
  /** Two nodes on one Redis: Socket.IO's Redis adapters and Holdfast's Redis store (bench/lib/cluster.ts). */
  cluster?: ClusterResults | undefined;
}
