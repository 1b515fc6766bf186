/**
 * `npm run bench -- --only=hostile --merge`: the workloads not run this time keep their figures
 * from the previous results file, so that RESULTS.md stays a full page after re-running one part.
 */
import type { BenchResults, ClusterResults } from './results.js';

/** The cluster workloads' names (`--only=…`) and their keys in `BenchResults.cluster`. */
const CLUSTER_KEYS = {
  'cluster-throughput': 'throughput',
  'cluster-fanout': 'fanout',
  'cluster-latency': 'latency',
  failover: 'failover',
} as const satisfies Record<string, Exclude<keyof ClusterResults, 'sizes'>>;

export interface CarriedOver {
  workloads: Partial<BenchResults['workloads']>;
  sqliteStall: BenchResults['sqliteStall'];
  hostile: BenchResults['hostile'];
  /** The cluster workloads not run now; the run fills in those it runs (with its own sizes). */
  cluster: BenchResults['cluster'];
  /** The names carried over, for the run's notes. */
  names: string[];
}

/** What `previous` measured for the workloads `ran` says were not run now. */
export function carryOver(previous: BenchResults, ran: (workload: string) => boolean): CarriedOver {
  const carried: CarriedOver = { workloads: {}, sqliteStall: undefined, hostile: undefined, cluster: undefined, names: [] };
  for (const name of Object.keys(previous.workloads) as Array<keyof BenchResults['workloads']>) {
    if (ran(name) || previous.workloads[name] === undefined) continue;
    carried.workloads[name] = previous.workloads[name] as never;
    carried.names.push(name);
  }
  if (!ran('stall') && previous.sqliteStall !== undefined) {
    carried.sqliteStall = previous.sqliteStall;
    carried.names.push('stall');
  }
  if (!ran('hostile') && previous.hostile !== undefined) {
    carried.hostile = previous.hostile;
    carried.names.push('hostile');
  }
  const cluster = previous.cluster;
  if (cluster !== undefined) {
    for (const [name, key] of Object.entries(CLUSTER_KEYS)) {
      if (ran(name) || cluster[key] === undefined) continue;
      carried.cluster ??= { sizes: cluster.sizes };
      carried.cluster[key] = cluster[key] as never;
      carried.names.push(name);
    }
  }
  return carried;
}
