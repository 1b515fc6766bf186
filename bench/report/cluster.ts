/**
 * The cluster section of bench/RESULTS.md (issue 12): each system on one and on two nodes sharing
 * one private redis-server, from `BenchResults.cluster`. Also the rows of the console summary.
 */
import {
  CLUSTER_SYSTEM_IDS,
  CLUSTER_SYSTEM_LABELS,
  isFigures,
  type ClusterResults,
  type ClusterSystemId,
  type Entry,
  type PerClusterSystem,
} from '../lib/results.js';
import { amount, cell, counts, dash, int, ms, percent, ratio } from './format.js';

function table(headers: string[], numeric: boolean[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  const rule = headers.map((_, i) => (numeric[i] === true ? '---:' : ':---'));
  return [line(headers), line(rule), ...rows.map(line)].join('\n');
}

interface Column {
  header: string;
  numeric?: boolean;
}

/**
 * One row per cluster system that has any entry in `sources`; `row` gives the cells from the
 * figures it found (undefined where a source has none). A system whose every source failed or is
 * not applicable shows the reason in the first cell.
 */
function clusterTable<S extends readonly (PerClusterSystem<object> | undefined)[]>(
  sources: S,
  columns: Column[],
  row: (system: ClusterSystemId, figures: { [K in keyof S]: S[K] extends PerClusterSystem<infer T> | undefined ? T | undefined : never }) => string[],
): string {
  const present = CLUSTER_SYSTEM_IDS.filter((system) => sources.some((source) => source?.[system] !== undefined));
  if (present.length === 0) return '_Not measured in this run._';
  const rows = present.map((system) => {
    const entries = sources.map((source) => source?.[system] as Entry<object> | undefined);
    const figures = entries.map((entry) => (isFigures(entry) ? entry : undefined));
    const label = CLUSTER_SYSTEM_LABELS[system];
    if (figures.every((f) => f === undefined)) {
      const reason = entries.find((entry) => entry !== undefined) as Entry<object>;
      const text = 'error' in reason ? `**failed**: ${cell(String(reason.error))}` : 'notApplicable' in reason ? `n/a: ${cell(String(reason.notApplicable))}` : dash;
      return [label, text, ...columns.slice(1).map(() => '')];
    }
    const failures = entries.flatMap((entry) => (entry !== undefined && 'error' in entry ? [`failed: ${String(entry.error)}`] : []));
    const cells = row(system, figures as never).map(cell);
    if (failures.length > 0) cells[cells.length - 1] = cell([cells[cells.length - 1], ...failures].filter((text) => text !== '' && text !== 'none').join('; '));
    return [label, ...cells];
  });
  return table(['system', ...columns.map((c) => c.header)], [false, ...columns.map((c) => c.numeric === true)], rows);
}

const quotient = (a: number | undefined, b: number | undefined): number | undefined =>
  a !== undefined && b !== undefined && Number.isFinite(a) && Number.isFinite(b) && b > 0 ? a / b : undefined;

/** `12,345` or `–` for a failed source. */
const orDash = <T>(figures: T | undefined, value: (f: T) => string): string => (figures === undefined ? dash : value(figures));

const mergeCounts = (...records: Array<Record<string, number> | undefined>): string => {
  const all: Record<string, number> = {};
  for (const record of records) for (const [key, count] of Object.entries(record ?? {})) all[key] = (all[key] ?? 0) + count;
  return counts(all);
};

function throughputTable(c: ClusterResults): string {
  const t = c.throughput;
  const streams = (key: 'oneNode' | 'twoNodes'): number | undefined => {
    const entry = t?.[key].socketioStreams;
    return isFigures(entry) ? entry.messagesPerSecond : undefined;
  };
  return clusterTable(
    [t?.oneNode, t?.twoNodes] as const,
    [
      { header: 'one node, msg/s', numeric: true },
      { header: 'two nodes, msg/s', numeric: true },
      { header: 'two ÷ one', numeric: true },
      { header: 'vs streams adapter (one / two nodes)', numeric: true },
      { header: 'server CPU (one / two)', numeric: true },
      { header: 'errors' },
    ],
    (_system, [one, two]) => [
      orDash(one, (f) => int(f.messagesPerSecond)),
      orDash(two, (f) => int(f.messagesPerSecond)),
      ratio(quotient(two?.messagesPerSecond, one?.messagesPerSecond)),
      `${ratio(quotient(one?.messagesPerSecond, streams('oneNode')))} / ${ratio(quotient(two?.messagesPerSecond, streams('twoNodes')))}`,
      `${percent(one?.serverCpu)} / ${percent(two?.serverCpu)}`,
      mergeCounts(one?.errors, two?.errors),
    ],
  );
}

function fanoutTable(c: ClusterResults): string {
  return clusterTable(
    [c.fanout] as const,
    [
      { header: 'deliveries/s', numeric: true },
      { header: 'subscribers', numeric: true },
      { header: 'published', numeric: true },
      { header: 'incomplete', numeric: true },
      { header: 'server CPU', numeric: true },
      { header: 'load CPU', numeric: true },
      { header: 'errors' },
    ],
    (_system, [f]) => [
      orDash(f, (x) => int(x.deliveriesPerSecond)),
      orDash(f, (x) => int(x.subscribers)),
      orDash(f, (x) => int(x.published)),
      orDash(f, (x) => int(x.incomplete)),
      percent(f?.serverCpu),
      percent(f?.loadCpu),
      mergeCounts(f?.errors),
    ],
  );
}

function latencyTable(c: ClusterResults): string {
  const l = c.latency;
  const triple = (f: { p50: number; p99: number; p999: number } | undefined): string => (f === undefined ? dash : `${ms(f.p50)} / ${ms(f.p99)} / ${ms(f.p999)}`);
  return clusterTable(
    [l?.oneNode, l?.crossNode] as const,
    [
      { header: 'one node p50 / p99 / p99.9', numeric: true },
      { header: 'cross-node p50 / p99 / p99.9', numeric: true },
      { header: 'cross ÷ one (p99)', numeric: true },
      { header: 'received / sent (one, cross)', numeric: true },
      { header: 'errors' },
    ],
    (_system, [one, cross]) => [
      triple(one),
      triple(cross),
      ratio(quotient(cross?.p99, one?.p99)),
      `${orDash(one, (f) => `${int(f.received)} / ${int(f.sent)}`)}, ${orDash(cross, (f) => `${int(f.received)} / ${int(f.sent)}`)}`,
      mergeCounts(one?.errors, cross?.errors),
    ],
  );
}

function failoverTable(c: ClusterResults): string {
  return clusterTable(
    [c.failover] as const,
    [
      { header: 'all complete after', numeric: true },
      { header: 'all reconnected after', numeric: true },
      { header: 'all receiving after', numeric: true },
      { header: 'median reconnected / complete', numeric: true },
      { header: 'complete / on killed node', numeric: true },
      { header: 'recovered', numeric: true },
      { header: 'lost', numeric: true },
      { header: 'clients with losses', numeric: true },
      { header: 'duplicates', numeric: true },
      { header: 'acknowledged / published', numeric: true },
      { header: 'attempts', numeric: true },
      { header: 'errors' },
    ],
    (_system, [f]) =>
      f === undefined
        ? Array(12).fill(dash)
        : [
            ms(f.allCompleteMs) === dash ? 'never (a gap not filled)' : ms(f.allCompleteMs),
            ms(f.allReconnectedMs),
            ms(f.allReceivingMs),
            `${ms(f.reconnectP50Ms)} / ${ms(f.completeP50Ms)}`,
            `${int(f.complete)} / ${int(f.onKilledNode)}${f.onKilledNode < f.clients ? ` (of ${int(f.clients)})` : ''}`,
            int(f.recovered),
            int(f.lost),
            int(f.clientsWithLosses),
            int(f.duplicates),
            `${int(f.acknowledged)} / ${int(f.published)}`,
            int(f.attempts),
            counts(f.errors),
          ],
  );
}

/** The "## Cluster" section, or undefined when the run has no cluster results. */
export function clusterSection(cluster: ClusterResults | undefined): string | undefined {
  if (cluster === undefined) return undefined;
  const s = cluster.sizes;
  const failoverRoute = CLUSTER_SYSTEM_IDS.map((id) => cluster.failover?.[id]).find((entry) => isFigures(entry))?.route;
  return [
    '## Cluster: two nodes on one Redis',
    '',
    'Each system on a private redis-server (the same for all: AOF ' +
      (s.redisFsync === 'no' ? 'off, no RDB' : `with \`appendfsync ${s.redisFsync}\`, no RDB`) +
      `; \`--redis-fsync=${s.redisFsync}\`), with one node or two nodes (two server processes on that Redis). ` +
      'Socket.IO + redis-adapter broadcasts through Redis pub/sub and recovers nothing; Socket.IO + redis-streams-adapter ' +
      'broadcasts through a Redis stream and keeps its connection-state-recovery sessions in Redis; Holdfast stores ' +
      "every reliable message in Redis before its ack. Socket.IO's ack means the node received the event, Holdfast's " +
      'that Redis holds the message. Every server-side process (Redis, the nodes, nginx) runs on the server CPU: two nodes ' +
      'on two cores share one core, so "two nodes" measures what the coordination through Redis costs, not scaling out.',
    '',
    `### Publish + ack throughput\n\nClosed loop as in Throughput: one client per node, each with ${int(s.inFlight)} publishes in flight ` +
      `(two nodes: two clients, one on each). Median of ${int(s.windows)} × ${amount(s.windowMs / 1000)} s windows. ` +
      'Server CPU: the nodes and Redis together, in % of one core.\n\n' +
      throughputTable(cluster),
    '',
    `### Fan-out across nodes\n\nOne publisher on node A, ${int(s.subscribers)} subscribers of one topic, every other one on node B. ` +
      'Deliveries per second to all subscribers together; "incomplete": publishes not seen by every subscriber by the end.\n\n' +
      fanoutTable(cluster),
    '',
    `### Cross-node latency\n\n${int(s.latencyRate)} msg/s for ${amount(s.latencyMs / 1000)} s, publish → delivery, in milliseconds. ` +
      'One node: publisher and subscriber on one node (on Redis); cross-node: publisher on node A, subscriber on node B.\n\n' +
      latencyTable(cluster),
    '',
    `### Failover\n\n${int(s.failoverClients)} clients, each subscribed to one topic, all on node B; a publisher on node A sends ` +
      `${int(s.failoverRate)} msg/s, each awaiting its ack. Node B is SIGKILLed; the clients reconnect by their own policy ` +
      `through ${failoverRoute ?? 'nginx in front of both nodes, node B primary and node A backup: one URL that reaches the survivor'}. ` +
      '"All complete": from the kill until every client was connected again and had every message, without a gap, up to ' +
      'one published after it came back; never, when a client kept a gap. "Attempts": connection attempts after the kill, ' +
      'all clients together (one each when every first try worked). "Lost": acknowledged messages a client never received ' +
      `(counted per client); Socket.IO + redis-adapter has no recovery, so what was published while a client was away is lost; ` +
      "Socket.IO's connection state recovery saves a session when its node closes the connection, and a SIGKILLed node saves none, " +
      'so with the streams adapter too a client of the killed node starts afresh on the other. ' +
      `Waits at most ${amount(s.failoverTimeoutMs / 1000)} s after the kill.\n\n` +
      failoverTable(cluster),
  ].join('\n');
}
