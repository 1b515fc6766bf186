/**
 * bench/RESULTS.md from the results JSON: every figure, ratio and size below comes from the
 * `BenchResults` object, so the page can be regenerated from any saved run and never goes stale
 * against its own data.
 */
import { SYSTEM_IDS, SYSTEM_LABELS, type BenchResults, type Entry, type PerSystem, type SystemId, type TargetCheck } from '../lib/results.js';
import type { StallFigures } from '../lib/ipc.js';
import { amount, bytes, cell, counts, dash, int, ms, percent, ratio, when } from './format.js';
import { clusterSection } from './cluster.js';
import { hostileSection } from './hostile.js';
import { REFERENCE_LABELS, metric, ratioTo, type RatioMetricId, type Reference } from './ratios.js';

interface Column<T> {
  header: string;
  /** Numbers are right-aligned so digits line up. */
  numeric?: boolean;
  value(figures: T, system: SystemId): string;
}

function table(headers: string[], numeric: boolean[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  const rule = headers.map((_, i) => (numeric[i] === true ? '---:' : ':---'));
  return [line(headers), line(rule), ...rows.map(line)].join('\n');
}

/**
 * One row per system that has an entry, in SYSTEM_IDS order. A failed or not-applicable entry puts
 * its reason in the headline cell and leaves the other cells empty, so the row still shows up.
 */
function workloadTable<T extends object>(entries: PerSystem<T> | undefined, columns: NoInfer<Column<T>>[]): string {
  const present = SYSTEM_IDS.filter((system) => entries?.[system] !== undefined);
  if (present.length === 0) return '_Not measured in this run._';
  const rows = present.map((system) => {
    const entry = entries?.[system] as Entry<T>;
    const label = SYSTEM_LABELS[system];
    if ('error' in entry) return [label, `**failed**: ${cell(String(entry.error))}`, ...columns.slice(1).map(() => '')];
    if ('notApplicable' in entry) return [label, `n/a: ${cell(String(entry.notApplicable))}`, ...columns.slice(1).map(() => '')];
    return [label, ...columns.map((column) => cell(column.value(entry, system)))];
  });
  return table(['system', ...columns.map((c) => c.header)], [false, ...columns.map((c) => c.numeric === true)], rows);
}

/** The two "vs reference" columns of a compared workload. */
function ratioColumns<T>(results: BenchResults, id: RatioMetricId): Column<T>[] {
  const m = metric(id);
  return (['ws', 'socketio'] as const satisfies readonly Reference[]).map((reference) => ({
    header: `vs ${REFERENCE_LABELS[reference]}`,
    numeric: true,
    value: (_figures: T, system: SystemId) => ratio(ratioTo(results, m, system, reference)),
  }));
}

function seconds(milliseconds: number): string {
  return `${amount(milliseconds / 1000)} s`;
}

function header(results: BenchResults): string {
  const { pinning } = results;
  const pinned =
    typeof pinning === 'string' ? `CPU pinning: ${pinning}` : `server pinned to CPU ${pinning.server}, load generator to CPU ${pinning.load}`;
  const load = (averages: number[]): string => (averages[0] === undefined ? dash : amount(averages[0]));
  const versions = Object.entries(results.versions ?? {})
    .map(([name, version]) => `${name} ${version}`)
    .join(', ');
  const lines = [
    '# Holdfast benchmark results',
    '',
    `Measured ${when(results.date)} with \`${results.command}\` (${results.quick ? 'quick run: shorter windows and smaller sizes, figures are rough' : 'full run'}, ` +
      `${amount(results.durationSeconds)} s) on ${results.platform}, ${results.cpuModel} × ${results.cpuCount}, node ${results.node} (V8 ${results.v8}); ` +
      `${pinned}; 1-minute load average ${load(results.loadAverageAtStart)} at the start, ${load(results.loadAverageAtEnd)} at the end.`,
  ];
  if (versions !== '') lines.push('', `Versions: ${versions}.`);
  if (results.partial) lines.push('', '**Partial results**: the run stopped before every workload finished; missing rows were not measured.');
  return lines.join('\n');
}

function targetValue(target: TargetCheck): string {
  // A value that is not finite (JSON null) with a verdict: the target's event never happened (a failover never complete).
  if (target.value === undefined || target.value === null || !Number.isFinite(target.value)) return target.met === false ? 'never' : `${dash} (not measured)`;
  return target.unit === undefined ? amount(target.value) : `${amount(target.value)} ${target.unit}`;
}

function targetBound(target: TargetCheck): string {
  if (target.min !== undefined && target.max !== undefined) return `${amount(target.min)} to ${amount(target.max)}`;
  if (target.min !== undefined) return `≥ ${amount(target.min)}`;
  if (target.max !== undefined) return `≤ ${amount(target.max)}`;
  return dash;
}

function targets(results: BenchResults): string {
  const rows = results.targets.map((target) => [
    cell(target.name),
    targetValue(target),
    targetBound(target),
    target.met === undefined ? `${dash} (an input failed)` : target.met ? '✓' : '✗',
    cell(target.how),
  ]);
  const body = rows.length === 0 ? '_No targets were checked in this run._' : table(['target', 'measured', 'target', 'met', 'how'], [false, true, true, false, false], rows);
  return `## Targets\n\n${body}`;
}

function sizes(results: BenchResults): string {
  const s = results.sizes;
  return (
    '## Sizes\n\n' +
    [
      `payload: ${int(s.payloadBytes)} bytes of JSON`,
      `throughput: ${int(s.inFlight)} in flight, ${seconds(s.warmupMs)} warm-up, then ${int(s.windows)} × ${seconds(s.windowMs)} windows`,
      `fan-out: ${int(s.subscribers)} subscribers`,
      `latency: ${int(s.latencyRate)} msg/s for ${seconds(s.latencyMs)}`,
      `memory: ${int(s.idleConnections)} idle connections`,
      `catch-up: ${int(s.catchupMessages)} missed messages`,
      `reconnect storm: ${int(s.stormClients)} clients`,
    ]
      .map((line) => `- ${line}`)
      .join('\n')
  );
}

function workloads(results: BenchResults): string {
  const { workloads: w, sizes: s } = results;
  const sections: string[] = [];

  sections.push(
    `## Throughput\n\nOne client keeps ${int(s.inFlight)} publishes in flight, each awaiting its confirmation (raw ws: an echo), ` +
      `${int(s.payloadBytes)}-byte payload; the figure is the median of the windows' rates. Ratios are system ÷ reference: higher is better. ` +
      `CPU in % of one core; "other CPU" is the rest of the machine, in cores (well above 0 means disturbed figures).\n\n` +
      workloadTable(w.throughput, [
        { header: 'msg/s (median)', numeric: true, value: (f) => int(f.messagesPerSecond) },
        ...ratioColumns(results, 'throughput'),
        { header: 'per window', numeric: true, value: (f) => f.rates.map((rate) => int(rate)).join(' / ') },
        { header: 'server CPU', numeric: true, value: (f) => percent(f.serverCpu) },
        { header: 'load CPU', numeric: true, value: (f) => percent(f.loadCpu) },
        { header: 'other CPU (cores)', numeric: true, value: (f) => amount(f.otherCpu) },
        { header: 'errors', value: (f) => counts(f.errors) },
      ]),
  );

  sections.push(
    `## Fan-out\n\nOne publisher, ${int(s.subscribers)} subscribers of one topic; the figure is deliveries per second to all subscribers together. ` +
      `Ratios are system ÷ reference: higher is better. "Incomplete": publishes not seen by every subscriber by the end.\n\n` +
      workloadTable(w.fanout, [
        { header: 'deliveries/s', numeric: true, value: (f) => int(f.deliveriesPerSecond) },
        ...ratioColumns(results, 'fanout'),
        { header: 'subscribers', numeric: true, value: (f) => int(f.subscribers) },
        { header: 'published', numeric: true, value: (f) => int(f.published) },
        { header: 'deliveries', numeric: true, value: (f) => int(f.deliveries) },
        { header: 'incomplete', numeric: true, value: (f) => int(f.incomplete) },
        { header: 'server CPU', numeric: true, value: (f) => percent(f.serverCpu) },
        { header: 'load CPU', numeric: true, value: (f) => percent(f.loadCpu) },
        { header: 'errors', value: (f) => counts(f.errors) },
      ]),
  );

  sections.push(
    `## Latency\n\nPublish → delivery to another connection at ${int(s.latencyRate)} msg/s for ${seconds(s.latencyMs)}, in milliseconds. ` +
      `Ratios compare p99, system ÷ reference: **lower is better**.\n\n` +
      workloadTable(w.latency, [
        { header: 'p99', numeric: true, value: (f) => ms(f.p99) },
        ...ratioColumns(results, 'latency'),
        { header: 'p50', numeric: true, value: (f) => ms(f.p50) },
        { header: 'p99.9', numeric: true, value: (f) => ms(f.p999) },
        { header: 'max', numeric: true, value: (f) => ms(f.max) },
        { header: 'mean', numeric: true, value: (f) => ms(f.mean) },
        { header: 'received / sent', numeric: true, value: (f) => `${int(f.received)} / ${int(f.sent)}` },
        { header: 'errors', value: (f) => counts(f.errors) },
      ]),
  );

  sections.push(
    `## Memory per idle connection\n\nServer memory after − before opening ${int(s.idleConnections)} idle connections, divided by the connections opened. ` +
      `Ratios compare RSS per connection, system ÷ reference: **lower is better**. heapUsed is absent for a server that is not a Node process.\n\n` +
      workloadTable(w.memory, [
        { header: 'RSS / connection', numeric: true, value: (f) => bytes(f.perConnection.rss) },
        ...ratioColumns(results, 'memory'),
        { header: 'heapUsed / connection', numeric: true, value: (f) => bytes(f.perConnection.heapUsed) },
        { header: 'external / connection', numeric: true, value: (f) => bytes(f.perConnection.external) },
        {
          header: 'opened / requested',
          numeric: true,
          value: (f) => `${int(f.opened)} / ${int(f.requested)}${f.failed > 0 ? ` (${int(f.failed)} failed)` : ''}`,
        },
        { header: 'RSS before → after', numeric: true, value: (f) => `${amount(f.before.rss / 2 ** 20)} → ${amount(f.after.rss / 2 ** 20)} MiB` },
        { header: 'open time', numeric: true, value: (f) => seconds(f.openMs) },
        { header: 'errors', value: (f) => counts(f.openErrors) },
      ]),
  );

  sections.push(
    `## Catch-up\n\nA subscriber misses ${int(s.catchupMessages)} messages, then reconnects: the time from the reconnect until the last missed ` +
      `message arrived, against receiving the same number live. Lower is better.\n\n` +
      workloadTable(w.catchup, [
        { header: 'catch-up', numeric: true, value: (f) => ms(f.catchupMs) },
        { header: 'live', numeric: true, value: (f) => ms(f.liveMs) },
        { header: 'catch-up ÷ live', numeric: true, value: (f) => ratio(f.liveMs > 0 ? f.catchupMs / f.liveMs : undefined) },
        { header: 'received / missed', numeric: true, value: (f) => `${int(f.received)} / ${int(f.messages)}` },
        { header: 'duplicates', numeric: true, value: (f) => int(f.duplicates) },
        { header: 'out of order', numeric: true, value: (f) => int(f.outOfOrder) },
        { header: 'recovered', value: (f) => (f.recovered === undefined ? dash : f.recovered ? 'yes' : 'no') },
        { header: 'errors', value: (f) => counts(f.errors) },
      ]),
  );

  sections.push(
    `## Reconnect storm\n\n${int(s.stormClients)} connected clients; the server is killed and started again. "All back": from the server ` +
      `listening again until every client was connected again. "Peak attempts/s": connection attempts in the busiest second.\n\n` +
      workloadTable(w.storm, [
        { header: 'all back after', numeric: true, value: (f) => ms(f.allBackMs) },
        { header: 'back / clients', numeric: true, value: (f) => `${int(f.back)} / ${int(f.clients)}` },
        { header: 'resumed', numeric: true, value: (f) => int(f.resumed) },
        { header: 'peak attempts/s', numeric: true, value: (f) => int(f.peakAttemptsPerSecond) },
        { header: 'attempts', numeric: true, value: (f) => int(f.attempts) },
        { header: 'server down', numeric: true, value: (f) => ms(f.downMs) },
        { header: 'errors', value: (f) => counts(f.errors) },
      ]),
  );

  return sections.join('\n\n');
}

function stallRow(label: string, f: StallFigures): string[] {
  return [
    label,
    int(f.rows),
    ms(f.ms),
    f.rows > 0 && f.ms > 0 ? int((f.rows * 1000) / f.ms) : dash,
    ms(f.maxStallMs),
    ms(f.loopDelay.p50),
    ms(f.loopDelay.p99),
    ms(f.loopDelay.max),
    int(f.ticks),
  ];
}

function sqliteStall(results: BenchResults): string | undefined {
  const stall = results.sqliteStall;
  if (stall === undefined) return undefined;
  const title = '## SQLite store: event-loop stalls';
  if ('error' in stall) return `${title}\n\n**failed**: ${cell(String(stall.error))}`;
  const { fill } = stall;
  return [
    title,
    '',
    `Filled ${int(stall.rows)} messages on one topic, each with a dedupKey, ${int(stall.appendBatch)} per append call: ` +
      `${seconds(fill.ms)}, ${int(fill.rowsPerSecond)} rows/s, longest append call ${ms(fill.maxBatchMs)}, ` +
      `database ${bytes(fill.databaseBytes)} + WAL ${bytes(fill.walBytes)}; deleteChunk ${stall.deleteChunk === undefined ? "the store's default" : int(stall.deleteChunk)}. ` +
      'Max stall: the largest gap between ticks of a 1 ms setInterval; loop delay: monitorEventLoopDelay({ resolution: 1 }), where about 1 ms means no delay.',
    '',
    table(
      ['operation', 'rows removed', 'duration', 'rows/s', 'max stall', 'loop delay p50', 'p99', 'max', 'timer ticks'],
      [false, true, true, true, true, true, true, true, true],
      [
        stallRow('idle loop (baseline)', stall.idle),
        stallRow(`trim(topic, { maxCount: ${int(stall.trim.policy.maxCount)} })`, stall.trim),
        stallRow('sweep() of expired dedup ids', stall.sweep),
      ],
    ),
  ].join('\n');
}

function notes(results: BenchResults): string | undefined {
  if (results.notes.length === 0) return undefined;
  return `## Notes\n\n${results.notes.map((note) => `- ${note.replace(/\r?\n/g, ' ')}`).join('\n')}`;
}

function chartAndReproduce(): string {
  return [
    '## Chart and how to reproduce',
    '',
    'The chart of the ratios against raw ws and Socket.IO (emit + ack) is [`results/chart.png`](results/chart.png):',
    '',
    '![Ratios of each system to raw ws and to Socket.IO](results/chart.png)',
    '',
    'Reproduce with `npm run bench` (full run) or `npm run bench -- --quick` (a rough, shorter run); both write ' +
      '`bench/results/latest.json`, this page and the chart. To re-render them from a saved JSON file: ' +
      '`node --import tsx bench/report/render.ts [results.json]`.',
  ].join('\n');
}

export function renderMarkdown(results: BenchResults): string {
  const parts = [header(results), targets(results), workloads(results), sqliteStall(results), hostileSection(results.hostile), clusterSection(results.cluster), sizes(results), notes(results), chartAndReproduce()];
  return parts.filter((part): part is string => part !== undefined).join('\n\n') + '\n';
}
