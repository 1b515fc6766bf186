/** The console summary at the end of a run: one plain-text table per workload, then the targets. */
import {
  CLUSTER_SYSTEM_IDS,
  CLUSTER_SYSTEM_LABELS,
  SYSTEM_IDS,
  SYSTEM_LABELS,
  isFigures,
  type BenchResults,
  type ClusterResults,
  type ClusterSystemId,
  type Entry,
  type PerClusterSystem,
  type SystemId,
} from './results.js';
import { hostileSummaryRows } from '../report/hostile.js';
import { millis, num, pct, stallTable, table } from './report.js';

function cells<T extends object>(entry: Entry<T> | undefined, width: number, figures: (f: T) => string[]): string[] {
  if (entry === undefined) return Array(width).fill('');
  if ('error' in entry) return [`failed: ${entry.error.slice(0, 70)}`, ...Array(width - 1).fill('')];
  if ('notApplicable' in entry) return [`n/a: ${entry.notApplicable}`, ...Array(width - 1).fill('')];
  return figures(entry);
}

const errorText = (errors: Record<string, number>): string =>
  Object.entries(errors)
    .map(([key, count]) => `${key} ×${count}`)
    .join(', ') || 'none';

function section<T extends object>(title: string, headers: string[], entries: Partial<Record<SystemId, Entry<T>>>, figures: (f: T) => string[]): void {
  const rows = SYSTEM_IDS.filter((id) => entries[id] !== undefined).map((id) => [SYSTEM_LABELS[id], ...cells(entries[id], headers.length, figures)]);
  if (rows.length === 0) return;
  console.log(`\n${title}\n`);
  console.log(table(['system', ...headers], rows));
}

export function printSummary(results: BenchResults): void {
  const { workloads: w, sizes } = results;
  const wsRate = isFigures(w.throughput.ws) ? w.throughput.ws.messagesPerSecond : undefined;
  section(
    `1. Publish + confirmation, one client, ${sizes.inFlight} in flight, ${sizes.payloadBytes}-byte payload (${sizes.windows} × ${sizes.windowMs / 1000} s)`,
    ['msg/s', 'vs ws', 'server CPU', 'load CPU', 'other CPU', 'errors'],
    w.throughput,
    (f) => [num(f.messagesPerSecond), pct(wsRate === undefined ? undefined : f.messagesPerSecond / wsRate), pct(f.serverCpu), pct(f.loadCpu), pct(f.otherCpu), errorText(f.errors)],
  );
  section(`2. Fan-out: one publisher, ${num(sizes.subscribers)} subscribers`, ['deliveries/s', 'published', 'incomplete', 'server CPU', 'load CPU', 'errors'], w.fanout, (f) => [
    num(f.deliveriesPerSecond),
    num(f.published),
    num(f.incomplete),
    pct(f.serverCpu),
    pct(f.loadCpu),
    errorText(f.errors),
  ]);
  section(`3. Latency, publish → delivery, ${num(sizes.latencyRate)} msg/s for ${sizes.latencyMs / 1000} s (ms)`, ['p50', 'p99', 'p99.9', 'max', 'received', 'errors'], w.latency, (f) => [
    millis(f.p50),
    millis(f.p99),
    millis(f.p999),
    millis(f.max),
    `${num(f.received)}/${num(f.sent)}`,
    errorText(f.errors),
  ]);
  section(`4. Server memory per idle connection, ${num(sizes.idleConnections)} connections`, ['RSS/conn', 'heap/conn', 'opened', 'open time'], w.memory, (f) => [
    `${num(f.perConnection.rss)} B`,
    f.perConnection.heapUsed === undefined ? '-' : `${num(f.perConnection.heapUsed)} B`,
    `${num(f.opened)}/${num(f.requested)}`,
    `${(f.openMs / 1000).toFixed(1)} s`,
  ]);
  section(`5. Catch-up after missing ${num(sizes.catchupMessages)} messages`, ['catch-up', 'live', 'received', 'dup', 'out of order', 'recovered', 'errors'], w.catchup, (f) => [
    `${num(f.catchupMs)} ms`,
    `${num(f.liveMs)} ms`,
    `${num(f.received)}/${num(f.messages)}`,
    num(f.duplicates),
    num(f.outOfOrder),
    String(f.recovered),
    errorText(f.errors),
  ]);
  section(`6. Reconnect storm: ${num(sizes.stormClients)} clients, server killed and restarted`, ['all back after', 'back', 'resumed', 'peak attempts/s', 'attempts', 'down'], w.storm, (f) => [
    `${num(f.allBackMs)} ms`,
    num(f.back),
    num(f.resumed),
    num(f.peakAttemptsPerSecond),
    num(f.attempts),
    `${num(f.downMs)} ms`,
  ]);
  const stall = results.sqliteStall;
  if (stall !== undefined && !('error' in stall)) {
    console.log(`\nSQLite store: event-loop stalls while removing ${num(stall.rows)} rows\n`);
    console.log(
      stallTable([
        ['idle loop (baseline)', stall.idle],
        ['trim', stall.trim],
        ['sweep of expired ids', stall.sweep],
      ]),
    );
  }
  if (results.hostile !== undefined) {
    console.log('\nHostile connections: RSS added to a fresh server (target: peak and after it left)\n');
    console.log(table(['flood', 'peak added', 'after it left', 'met', 'outcome'], hostileSummaryRows(results.hostile)));
  }
  if (results.cluster !== undefined) clusterSummary(results.cluster);
  console.log('\nTargets (ratios within this run)\n');
  console.log(
    table(
      ['target', 'measured', 'met'],
      results.targets.map((t) => [
        t.name,
        t.value === undefined || t.value === null ? (t.met === false ? 'never' : '-') : `${t.value.toFixed(2)}${t.unit === undefined ? '×' : ` ${t.unit}`}`,
        t.met === undefined ? '-' : t.met ? 'yes' : 'NO',
      ]),
    ),
  );
}

/** One cell per source: its figures, its failure, or nothing. */
function clusterRows(sources: Array<PerClusterSystem<object> | undefined>, figures: (system: ClusterSystemId, found: Array<object | undefined>) => string[]): string[][] {
  return CLUSTER_SYSTEM_IDS.filter((id) => sources.some((source) => source?.[id] !== undefined)).map((id) => {
    const entries = sources.map((source) => source?.[id]);
    const failed = entries.flatMap((entry) => (entry !== undefined && 'error' in entry ? [entry.error.slice(0, 70)] : []));
    const cells = figures(
      id,
      entries.map((entry) => (isFigures(entry) ? entry : undefined)),
    );
    return [CLUSTER_SYSTEM_LABELS[id], ...cells, failed.length > 0 ? `failed: ${failed.join('; ')}` : ''];
  });
}

function clusterSummary(c: ClusterResults): void {
  const s = c.sizes;
  const print = (title: string, headers: string[], rows: string[][]): void => {
    if (rows.length === 0) return;
    console.log(`\n${title}\n`);
    console.log(table(['system', ...headers, ''], rows));
  };
  type T = { messagesPerSecond: number; serverCpu: number | undefined };
  print(
    `Cluster 1. Publish + ack, ${s.inFlight} in flight per node`,
    ['one node msg/s', 'two nodes msg/s', 'server CPU (1 / 2)'],
    clusterRows([c.throughput?.oneNode, c.throughput?.twoNodes], (_id, [one, two]) => [
      num((one as T | undefined)?.messagesPerSecond),
      num((two as T | undefined)?.messagesPerSecond),
      `${pct((one as T | undefined)?.serverCpu)} / ${pct((two as T | undefined)?.serverCpu)}`,
    ]),
  );
  type F = { deliveriesPerSecond: number; incomplete: number; errors: Record<string, number> };
  print(
    `Cluster 2. Fan-out across nodes: publisher on A, ${num(s.subscribers)} subscribers over A and B`,
    ['deliveries/s', 'incomplete', 'errors'],
    clusterRows([c.fanout], (_id, [f]) => {
      const x = f as F | undefined;
      return [num(x?.deliveriesPerSecond), num(x?.incomplete), x === undefined ? '' : errorText(x.errors)];
    }),
  );
  type L = { p50: number; p99: number; p999: number };
  const triple = (l: L | undefined): string => (l === undefined ? '-' : `${millis(l.p50)} / ${millis(l.p99)} / ${millis(l.p999)}`);
  print(
    `Cluster 3. Latency at ${num(s.latencyRate)} msg/s (ms, p50 / p99 / p99.9)`,
    ['one node', 'cross-node (A → B)'],
    clusterRows([c.latency?.oneNode, c.latency?.crossNode], (_id, [one, cross]) => [triple(one as L | undefined), triple(cross as L | undefined)]),
  );
  type V = {
    allCompleteMs: number;
    allReconnectedMs: number;
    reconnectP50Ms: number;
    onKilledNode: number;
    complete: number;
    recovered: number;
    lost: number;
    duplicates: number;
    acknowledged: number;
    published: number;
    attempts: number;
  };
  print(
    `Cluster 4. Failover: ${num(s.failoverClients)} clients on node B, SIGKILLed; publisher on A at ${num(s.failoverRate)} msg/s`,
    ['all complete', 'all reconnected', 'median reconnected', 'complete', 'recovered', 'lost', 'dup', 'acked/published', 'attempts'],
    clusterRows([c.failover], (_id, [f]) => {
      const x = f as V | undefined;
      if (x === undefined) return Array(9).fill('-');
      return [
        Number.isFinite(x.allCompleteMs) ? `${num(x.allCompleteMs)} ms` : 'never',
        `${num(x.allReconnectedMs)} ms`,
        `${num(x.reconnectP50Ms)} ms`,
        `${num(x.complete)}/${num(x.onKilledNode)}`,
        num(x.recovered),
        num(x.lost),
        num(x.duplicates),
        `${num(x.acknowledged)}/${num(x.published)}`,
        num(x.attempts),
      ];
    }),
  );
}
