/** The console summary at the end of a run: one plain-text table per workload, then the targets. */
import { SYSTEM_IDS, SYSTEM_LABELS, isFigures, type BenchResults, type Entry, type SystemId } from './results.js';
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
  console.log('\nTargets (ratios within this run)\n');
  console.log(
    table(
      ['target', 'measured', 'met'],
      results.targets.map((t) => [t.name, t.value === undefined ? '-' : `${t.value.toFixed(2)}×`, t.met === undefined ? '-' : t.met ? 'yes' : 'NO']),
    ),
  );
}
