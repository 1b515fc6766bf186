/**
 * What the `hostile` workload records per flood, and the target it is judged against (issue 10):
 * one hostile connection adds at most maxBufferedBytes + maxPayload + 1 MiB to the server's RSS
 * (3 MiB at the defaults), and the server is back to its baseline after the connection left.
 */
import type { MemorySample } from '../lib/ipc.js';
import type { HostileKind, HostileStore } from './plans.js';

const MiB = 2 ** 20;

/**
 * How far above the baseline "back to baseline" may end, per connection: RSS after a full GC
 * keeps some of what the allocator once held, even after a well-behaved connection (the control
 * row shows how much).
 */
export const BASELINE_SLACK_BYTES = 2 * MiB;

/** The attacker's own account of the flood (bench/hostile/floods.ts). */
export interface AttackReport {
  ms: number;
  framesSent: number;
  bytesSent: number;
  framesReceived: number;
  bytesReceived: number;
  /** Close code the attacker saw, when the server closed a connection (a successful defence). */
  closeCodes: Record<string, number>;
  /** `error` frames and failed replies received, by code. */
  errors: Record<string, number>;
  /** Counters of this kind (replies received, topics sent…). */
  counts: Record<string, number>;
}

/** The ack phase of `kept-replies-acks`: what confirming the replies one frame at a time cost. */
export interface AckPhaseFigures {
  frames: number;
  /** Server CPU time (user + system, all threads), ms. */
  cpuMs: number;
  /** From the first ack sent until the server was idle again, ms. */
  wallMs: number;
  /** /proc/<pid>/io of the server: bytes it caused to be written to storage, and passed to write(). */
  writeBytes: number | undefined;
  wchar: number | undefined;
}

export interface LoopFigures {
  /** Longest event-loop delay seen (perf_hooks.monitorEventLoopDelay), ms. */
  maxMs: number;
  windowMs: number;
}

export interface HostileFigures {
  kind: HostileKind;
  store: HostileStore;
  connections: number;
  what: string;
  attack: AttackReport;
  /** Settled (after full GC) before the attacker connected. */
  baseline: MemorySample;
  /** Highest RSS of the server process during the run (VmHWM, reset at the baseline), and the highest heap sampled. */
  peak: { rss: number; heapUsed: number | undefined; external: number | undefined };
  /** Settled while the attacker was still connected, after it stopped sending; undefined if the server died. */
  held: MemorySample | undefined;
  /** Settled after the attacker left and the server went idle; undefined if the server died. */
  after: MemorySample | undefined;
  /** The server's open connections once the attacker stopped sending: 0 means it closed them. */
  connectionsAtEnd: number | undefined;
  /** Set when the server process died (or was killed at the bench's safety cap) during the flood. */
  serverDied?: string;
  ackPhase?: AckPhaseFigures;
  /** Longest event-loop stall of the server from the baseline until the attacker stopped sending. */
  loopDuringFlood: LoopFigures | undefined;
  /** topic-flood: topics the store holds, and the longest stall during the retention sweeps after the flood. */
  topics?: number | undefined;
  loopAfter?: LoopFigures;
  judged: Judgement;
}

export interface Judgement {
  /** Bytes one run may add at its peak: connections × (maxBufferedBytes + maxPayload + 1 MiB). */
  bound: number;
  addedPeakRss: number;
  addedPeakHeap: number | undefined;
  addedHeldRss: number | undefined;
  addedAfterRss: number | undefined;
  addedAfterHeap: number | undefined;
  peakMet: boolean;
  afterMet: boolean;
  met: boolean;
}

export interface HostileLimits {
  maxBufferedBytes: number;
  maxPayload: number;
}

/** The bound on what `connections` hostile connections may add at their peak. */
export function boundFor(limits: HostileLimits, connections: number): number {
  return connections * (limits.maxBufferedBytes + limits.maxPayload + MiB);
}

/** Judges one flood against the target; a server that died meets nothing. */
export function judge(
  limits: HostileLimits,
  run: { connections: number; baseline: MemorySample; peak: HostileFigures['peak']; held: MemorySample | undefined; after: MemorySample | undefined; serverDied?: string | undefined },
): Judgement {
  const bound = boundFor(limits, run.connections);
  const minus = (sample: MemorySample | undefined, field: 'rss' | 'heapUsed'): number | undefined =>
    sample === undefined ? undefined : sample[field] - run.baseline[field];
  const addedPeakRss = run.peak.rss - run.baseline.rss;
  const addedAfterRss = minus(run.after, 'rss');
  const peakMet = run.serverDied === undefined && addedPeakRss <= bound;
  const afterMet = run.serverDied === undefined && addedAfterRss !== undefined && addedAfterRss <= run.connections * BASELINE_SLACK_BYTES;
  return {
    bound,
    addedPeakRss,
    addedPeakHeap: run.peak.heapUsed === undefined ? undefined : run.peak.heapUsed - run.baseline.heapUsed,
    addedHeldRss: minus(run.held, 'rss'),
    addedAfterRss,
    addedAfterHeap: minus(run.after, 'heapUsed'),
    peakMet,
    afterMet,
    met: peakMet && afterMet,
  };
}

export type HostileEntry = HostileFigures | { kind: HostileKind; store: HostileStore; what: string; error: string };

/** The workload's part of bench/results/latest.json. */
export interface HostileResults {
  limits: HostileLimits;
  boundPerConnection: number;
  baselineSlackPerConnection: number;
  /** Above this RSS the bench kills the server, to protect the machine. */
  safetyCapBytes: number;
  floods: HostileEntry[];
}

export const isHostileFigures = (entry: HostileEntry): entry is HostileFigures => !('error' in entry);
