import type { FaultKind } from './log-lines.js';
import { Prng } from './prng.js';

/**
 * One fault of the schedule. `target` is a client index (cut, half-open, delay, client-kill: the
 * publishers first, then the subscribers), a node index (node-kill), or 0 (redis-kill). `ms` is how
 * long the spell lasts or the victim stays down; `latency` is the delay spell's added latency.
 */
export interface PlannedFault {
  at: number;
  kind: FaultKind;
  target: number;
  ms: number;
  latency: number;
}

export interface PlanShape {
  durationMs: number;
  nodes: number;
  clients: number;
}

/** How often each kind is drawn: Redis restarts are the rarest (each one replays the AOF). */
const WEIGHTS: ReadonlyArray<readonly [FaultKind, number]> = [
  ['cut', 24],
  ['half-open', 14],
  ['delay', 14],
  ['node-kill', 22],
  ['client-kill', 18],
  ['redis-kill', 4],
];

/** Time a restarted process is given to come back before the plan may kill it again. */
const RESTART_ALLOWANCE = 1500;
/** At least this long between two Redis kills, on top of the downtime. */
const REDIS_SPACING = 10_000;

/**
 * The whole fault schedule, drawn from the seed alone before the run starts: the same seed gives
 * the same faults at the same moments against the same targets, whatever the processes do. A
 * kill never targets a process the plan still has down (or just restarting); another kind is
 * drawn instead (falling back to a cut, which is always possible).
 */
export function planFaults(seed: number, shape: PlanShape): PlannedFault[] {
  const random = new Prng(seed);
  const faults: PlannedFault[] = [];
  const nodeFree = new Array<number>(shape.nodes).fill(0);
  const clientFree = new Array<number>(shape.clients).fill(0);
  let redisFree = 0;
  for (let at = random.int(300, 1500); at < shape.durationMs; at += random.int(300, 1500)) {
    const kind = random.weighted(WEIGHTS);
    const free = (until: number[]) => until.flatMap((time, index) => (time <= at ? [index] : []));
    const pick = (indexes: number[]) => indexes[random.int(0, indexes.length - 1)]!;
    const client = random.int(0, shape.clients - 1);
    if (kind === 'node-kill' && free(nodeFree).length > 0) {
      const target = pick(free(nodeFree));
      const ms = random.int(200, 1500);
      nodeFree[target] = at + ms + RESTART_ALLOWANCE;
      faults.push({ at, kind, target, ms, latency: 0 });
    } else if (kind === 'client-kill' && free(clientFree).length > 0) {
      const target = pick(free(clientFree));
      const ms = random.int(100, 1000);
      clientFree[target] = at + ms + RESTART_ALLOWANCE;
      faults.push({ at, kind, target, ms, latency: 0 });
    } else if (kind === 'redis-kill' && redisFree <= at) {
      const ms = random.int(300, 2000);
      redisFree = at + ms + REDIS_SPACING;
      faults.push({ at, kind, target: 0, ms, latency: 0 });
    } else if (kind === 'half-open') {
      faults.push({ at, kind, target: client, ms: random.int(1000, 8000), latency: 0 });
    } else if (kind === 'delay') {
      faults.push({ at, kind, target: client, ms: random.int(1000, 6000), latency: random.int(20, 600) });
    } else {
      faults.push({ at, kind: 'cut', target: client, ms: 0, latency: 0 });
    }
  }
  return faults;
}
