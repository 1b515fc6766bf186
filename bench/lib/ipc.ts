/**
 * Messages between the orchestrator (bench/run.ts), the server under test (bench/servers/*) and the
 * load generator (bench/load/*). Every child talks to its parent over the IPC channel of `fork`/`spawn`.
 */

import type { CatchupConfig, FanoutConfig, LatencyConfig } from '../load/workloads.js';
import type { FailoverShare } from '../load/failover.js';
import type { CatchupFigures, FanoutFigures, LatencyFigures, StormFigures } from './results.js';

export interface MemorySample {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

export interface CpuSample {
  /** µs of user + system CPU time since the process started. */
  cpu: number;
  /** ms, performance.now() of the process. */
  at: number;
}

/** Parent → server. */
export type ServerCommand = { type: 'memory' } | { type: 'cpu' } | { type: 'stop' };

/** Server → parent. */
export type ServerReport =
  | { type: 'ready'; url: string; pid: number }
  | { type: 'memory'; memory: MemorySample; connections: number }
  | { type: 'cpu'; sample: CpuSample };

export interface ThroughputConfig {
  url: string;
  inFlight: number;
  warmupMs: number;
  windowMs: number;
  windows: number;
  payload: unknown;
}

export interface ThroughputResult {
  /** Messages completed (echoed / acknowledged) in each measured window, per second. */
  rates: number[];
  completed: number;
  measuredMs: number;
  /** Load process CPU use during the measured windows, 0..1 of one core. */
  loadCpu: number;
  errors: Record<string, number>;
}

/** Parent → load (bench/load/main.ts). */
export type LoadCommand =
  | { type: 'throughput'; config: ThroughputConfig; topic: string; urls?: string[] }
  | { type: 'fanout'; config: FanoutConfig }
  | { type: 'latency'; config: LatencyConfig }
  | { type: 'catchup'; config: CatchupConfig }
  | { type: 'open'; url: string; count: number; batch: number; topic: string }
  | { type: 'storm-open'; url: string; count: number; batch: number; topic: string }
  | { type: 'storm-killed' }
  | { type: 'storm-restarted'; downMs: number; timeoutMs: number }
  | { type: 'failover-open'; url: string; count: number; batch: number; topic: string; capacity: number }
  | { type: 'failover-killed'; at: number }
  | { type: 'failover-settle'; timeoutMs: number }
  | { type: 'failover-tally'; published: number; unacknowledged: number[]; graceMs: number }
  | { type: 'failover-publish'; url: string; topic: string; ratePerSecond: number; payloadBytes: number; capacity: number }
  | { type: 'failover-publish-stop'; graceMs: number }
  | { type: 'stop' };

export interface OpenOutcome {
  opened: number;
  failed: number;
  ms: number;
  errors: Record<string, number>;
}

/** Load → parent. */
export type LoadReport =
  | { type: 'mark'; name: 'measure-start' | 'measure-end' }
  | { type: 'throughput'; result: ThroughputResult }
  | { type: 'fanout'; result: Omit<FanoutFigures, 'serverCpu'> }
  | { type: 'latency'; result: LatencyFigures }
  | { type: 'catchup'; result: CatchupFigures }
  | ({ type: 'opened' } & OpenOutcome)
  | ({ type: 'storm-opened' } & OpenOutcome)
  | { type: 'storm'; result: StormFigures }
  | ({ type: 'failover-opened' } & OpenOutcome)
  | { type: 'failover-settle' }
  | { type: 'failover-tally'; share: FailoverShare }
  | { type: 'failover-publish' }
  | { type: 'failover-publish-stop'; published: number; acknowledged: number; unacknowledged: number[]; errors: Record<string, number> }
  | { type: 'fatal'; message: string };

/** Sends to the parent; a no-op when there is none (the file was run by hand). */
export function toParent(message: ServerReport | LoadReport): void {
  process.send?.(message);
}

/**
 * Child-side safety: exit when the parent goes away, and in any case after `maxMs`, so that no
 * process outlives the run.
 */
export function childSafety(name: string, maxMs: number): void {
  process.on('disconnect', () => process.exit(0));
  setTimeout(() => {
    console.error(`[bench] ${name}: still running after ${maxMs} ms; exiting`);
    process.exit(3);
  }, maxMs).unref();
  process.on('uncaughtException', (error) => {
    console.error(`[bench] ${name}:`, error);
    toParent({ type: 'fatal', message: `${name}: ${String(error)}` });
    process.exit(1);
  });
}

export function onParentMessage<T>(handler: (message: T) => void): void {
  process.on('message', (message) => handler(message as T));
}

export function cpuSample(): CpuSample {
  const { user, system } = process.cpuUsage();
  return { cpu: user + system, at: performance.now() };
}

/** Share of one core used between two samples. */
export function cpuShare(from: CpuSample, to: CpuSample): number {
  const wallUs = (to.at - from.at) * 1000;
  return wallUs > 0 ? (to.cpu - from.cpu) / wallUs : 0;
}

export function countInto(record: Record<string, number>, key: string): void {
  record[key] = (record[key] ?? 0) + 1;
}

/** Event-loop responsiveness while one piece of store work ran (bench/store/sqlite-stall.ts). */
export interface StallFigures {
  /** Wall time of the work, ms. */
  ms: number;
  /** Rows the work removed (trim: messages; sweep: expired ids). */
  rows: number;
  /** Largest gap between two ticks of a 1 ms setInterval (work before the first tick included), ms. */
  maxStallMs: number;
  /** Ticks of that interval during the work. */
  ticks: number;
  /**
   * perf_hooks.monitorEventLoopDelay({ resolution: 1 }), ms: the histogram records the time between
   * runs of its 1 ms timer, so about 1 ms means no delay at all.
   */
  loopDelay: { p50: number; p99: number; max: number; mean: number; samples: number };
}

export interface SqliteStallResult {
  rows: number;
  appendBatch: number;
  deleteChunk: number | undefined;
  /** Filling: `rows` appends with a dedupKey each (as a reliable publish), `appendBatch` per append call. */
  fill: { ms: number; rowsPerSecond: number; databaseBytes: number; walBytes: number; maxBatchMs: number };
  /** The same measurement over an idle loop, to read the others against. */
  idle: StallFigures;
  trim: StallFigures & { policy: { maxCount: number } };
  sweep: StallFigures;
}
