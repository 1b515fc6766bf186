/** IPC messages of the `hostile` workload, beyond the bench's usual ones (bench/lib/ipc.ts). */
import type { AttackReport, HostileLimits } from './figures.js';
import type { AttackConfig } from './plans.js';

/** Orchestrator → attacker (bench/hostile/attacker.ts). */
export type AttackerCommand =
  | { type: 'attack'; url: string; config: AttackConfig }
  /** One well-behaved connection before the baseline, closed again. */
  | { type: 'warm-up'; url: string }
  /** Go on after a 'phase' report, once the server was sampled. */
  | { type: 'continue' }
  /** Drop every connection. */
  | { type: 'leave' }
  | { type: 'stop' };

/** Attacker → orchestrator. */
export type AttackerReport =
  | { type: 'phase'; name: string }
  | { type: 'attacked'; report: AttackReport }
  | { type: 'left' }
  | { type: 'warmed' }
  | { type: 'fatal'; message: string };

/** Orchestrator → server under test (bench/servers/hostile.ts), besides memory, cpu and stop. */
export type HostileServerCommand =
  /** Resets the sampled peaks, the event-loop histogram and the CPU and I/O counters. */
  | { type: 'watch-start' }
  | { type: 'watch' }
  | { type: 'prefill'; topic: string; messages: number; bytes: number }
  | { type: 'topics' };

export interface WatchFigures {
  /** Highest heapUsed and external (incl. array buffers) sampled every 50 ms since watch-start. */
  maxHeapUsed: number;
  maxExternal: number;
  /** Longest event-loop delay since watch-start, ms. */
  loopMaxMs: number;
  windowMs: number;
  /** CPU time of the process (all threads) since watch-start, µs. */
  cpuUs: number;
  /** /proc/self/io deltas since watch-start; undefined where /proc is missing. */
  writeBytes: number | undefined;
  wchar: number | undefined;
}

/** Server under test → orchestrator. */
export type HostileServerReport =
  | { type: 'limits'; limits: HostileLimits }
  | { type: 'watch'; figures: WatchFigures }
  | { type: 'prefilled'; ms: number }
  | { type: 'topics'; count: number | undefined };
