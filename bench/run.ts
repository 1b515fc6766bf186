/**
 * `npm run bench`: Holdfast next to raw `ws`, Socket.IO 4 and MQTT (Mosquitto + mqtt.js), six
 * workloads, one run on one machine. Each measurement starts a fresh server under test and a
 * fresh load process, pinned to separate cores. It prints and records figures; it asserts nothing.
 * Writes bench/results/latest.json (or --out), then bench/RESULTS.md and bench/results/chart.png.
 *
 *   npm run bench [-- --quick] [--only=throughput,fanout,latency,memory,catchup,storm,stall,hostile,cluster]
 *                 [--systems=ws,socketio,…] [--cluster-systems=socketioRedis,socketioStreams,holdfastRedis]
 *                 [--profile[=dir]] [--out file] [--no-report]
 *                 [--connections N] [--subscribers N] [--storm-clients N] [--catchup-messages N]
 *                 [--in-flight N] [--stall-rows N] [--delete-chunk N] [--merge]
 *                 [--redis-fsync=no|everysec|always] [--failover-clients N] [--failover-rate N]
 *
 * --quick     smaller sizes and shorter windows: the whole run in under 2 minutes
 * --profile   the Holdfast servers run with --cpu-prof (summarise with bench/profile-top.ts)
 * --merge     workloads not run keep their figures from the output file (--only=hostile after a full run)
 * hostile     one hostile connection per flood against a fresh Holdfast server (bench/hostile/)
 * cluster     two nodes on one Redis (bench/lib/cluster.ts): cluster-throughput, cluster-fanout,
 *             cluster-latency and failover, each also selectable by its name
 * --redis-fsync  holdfastRedis's private redis-server: AOF with `appendfsync everysec` (default) or
 *             `always`, or `no` (no AOF, no RDB: an acknowledged message is only in Redis's memory)
 */
import { spawnSync } from 'node:child_process';
import { cpus, loadavg, tmpdir } from 'node:os';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makePayload } from './lib/payload.js';
import { fileLimits, killChildren, pinning } from './lib/spawn.js';
import { REDIS_FSYNC, mosquittoBinary, redisPersistence, redisServerBinary, redisServerVersion, type RedisFsync } from './lib/servers.js';
import {
  CLUSTER_SYSTEM_IDS,
  CLUSTER_SYSTEM_LABELS,
  SYSTEM_IDS,
  SYSTEM_LABELS,
  isFigures,
  type BenchResults,
  type ClusterResults,
  type ClusterSystemId,
  type PerClusterSystem,
  type Failed,
  type PerSystem,
  type SystemId,
  type TargetCheck,
} from './lib/results.js';
import { catchup, fanout, latency, memory, sqliteStall, storm, throughput, type Setup } from './lib/scenarios.js';
import { clusterFanout, clusterLatency, clusterThroughput, failover } from './lib/cluster.js';
import { nginxBinary } from './lib/nginx.js';
import { printSummary } from './lib/summary.js';
import { num } from './lib/report.js';
import { asBenchResults } from './report/render.js';
import { carryOver } from './lib/merge.js';
import { emptyHostileResults, runHostile } from './hostile/run.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const flag = (name: string): boolean => argv.some((arg) => arg === `--${name}` || arg.startsWith(`--${name}=`));
const value = (name: string): string | undefined => {
  const inline = argv.find((arg) => arg.startsWith(`--${name}=`));
  if (inline !== undefined) return inline.slice(name.length + 3);
  const at = argv.indexOf(`--${name}`);
  const next = at >= 0 ? argv[at + 1] : undefined;
  return next !== undefined && !next.startsWith('--') ? next : undefined;
};
const numberOption = (name: string, fallback: number): number => {
  const text = value(name);
  if (text === undefined) return fallback;
  const parsed = Number(text);
  if (!Number.isFinite(parsed) || parsed <= 0) throw new Error(`--${name} needs a positive number, got "${text}"`);
  return parsed;
};

const CLUSTER_WORKLOADS = ['cluster-throughput', 'cluster-fanout', 'cluster-latency', 'failover'] as const;
const WORKLOADS = ['throughput', 'fanout', 'latency', 'memory', 'catchup', 'storm', 'stall', 'hostile', ...CLUSTER_WORKLOADS] as const;
type Workload = (typeof WORKLOADS)[number];
// `cluster` names the four cluster workloads together.
const only = (value('only')?.split(',') ?? [...WORKLOADS]).flatMap((name) => (name === 'cluster' ? [...CLUSTER_WORKLOADS] : [name]));
for (const name of only) if (!(WORKLOADS as readonly string[]).includes(name)) throw new Error(`--only: unknown workload "${name}" (${WORKLOADS.join(', ')}, cluster)`);
const chosenSystems = (value('systems')?.split(',') ?? [...SYSTEM_IDS]) as SystemId[];
for (const id of chosenSystems) if (!SYSTEM_IDS.includes(id)) throw new Error(`--systems: unknown system "${id}" (${SYSTEM_IDS.join(', ')})`);
const chosenClusterSystems = (value('cluster-systems')?.split(',') ?? [...CLUSTER_SYSTEM_IDS]) as ClusterSystemId[];
for (const id of chosenClusterSystems) {
  if (!CLUSTER_SYSTEM_IDS.includes(id)) throw new Error(`--cluster-systems: unknown system "${id}" (${CLUSTER_SYSTEM_IDS.join(', ')})`);
}
const runs = (workload: Workload): boolean => only.includes(workload);
const runsCluster = CLUSTER_WORKLOADS.some(runs);

const quick = flag('quick');
const started = performance.now();
const loadAverageAtStart = loadavg().map((v) => Math.round(v * 100) / 100);
// Quick must stay under 2 minutes with the build; the deadline stops a run that hangs. The hostile
// floods add about 5 minutes to a full run (2 to a quick one).
// The cluster workloads add about 1 minute to a quick run and 5 to a full one.
const deadlineMs =
  (quick ? 150_000 : 900_000) + (only.includes('hostile') ? (quick ? 150_000 : 480_000) : 0) + (runsCluster ? (quick ? 180_000 : 900_000) : 0);
const payload = makePayload(100);
const payloadBytes = JSON.stringify(payload).length;
const sizes = {
  payloadBytes,
  inFlight: numberOption('in-flight', 100),
  warmupMs: quick ? 300 : 1000,
  windowMs: quick ? 1000 : 5000,
  windows: quick ? 1 : 3,
  subscribers: numberOption('subscribers', quick ? 250 : 1000),
  latencyRate: 1000,
  latencyMs: quick ? 1000 : 10_000,
  idleConnections: numberOption('connections', quick ? 500 : 10_000),
  catchupMessages: numberOption('catchup-messages', quick ? 2000 : 10_000),
  stormClients: numberOption('storm-clients', quick ? 300 : 5000),
};
const clusterSizes = {
  nodes: 2,
  inFlight: sizes.inFlight,
  warmupMs: sizes.warmupMs,
  windowMs: sizes.windowMs,
  windows: sizes.windows,
  subscribers: numberOption('subscribers', quick ? 250 : 1000),
  latencyRate: sizes.latencyRate,
  latencyMs: sizes.latencyMs,
  failoverClients: numberOption('failover-clients', quick ? 1000 : 5000),
  // 5,000 subscribers × 2 msg/s = 10,000 deliveries/s through nginx: a failover, not an overload (docs/benchmarks.md).
  failoverRate: numberOption('failover-rate', 2),
  failoverTimeoutMs: quick ? 15_000 : 30_000,
  redisFsync: 'everysec',
};
const stallRows = numberOption('stall-rows', quick ? 50_000 : 1_000_000);
const deleteChunkText = value('delete-chunk');
const deleteChunk = deleteChunkText === undefined ? undefined : Number(deleteChunkText);
const profileDir = flag('profile') ? resolve(value('profile') ?? join(tmpdir(), 'holdfast-bench-profiles')) : undefined;
const notes: string[] = [];
if (quick) notes.push('quick run: smaller sizes and one short window per measurement; read the full run for the record');

// Each connection is a file descriptor in the server and in the load process.
const limits = fileLimits();
// The failover's clients are spread over load processes of at most FAILOVER_PER_LOAD each; its
// surviving node holds them all.
const FAILOVER_PER_LOAD = 2500;
const needed = Math.max(sizes.idleConnections, sizes.stormClients, sizes.subscribers, runsCluster ? clusterSizes.failoverClients : 0) + 512;
let fileLimit: number | undefined;
if (limits.soft < needed) {
  fileLimit = Math.min(needed, limits.hard);
  if (limits.hard < needed) {
    const cap = Math.max(0, limits.hard - 512);
    notes.push(`open-file limit ${limits.hard}: connection counts capped at ${cap}`);
    sizes.idleConnections = Math.min(sizes.idleConnections, cap);
    sizes.stormClients = Math.min(sizes.stormClients, cap);
    sizes.subscribers = Math.min(sizes.subscribers, cap);
    clusterSizes.failoverClients = Math.min(clusterSizes.failoverClients, cap);
  }
}
const redisFsync = (value('redis-fsync') ?? 'everysec') as RedisFsync;
if (!REDIS_FSYNC.includes(redisFsync)) throw new Error(`--redis-fsync: "${redisFsync}" is not one of ${REDIS_FSYNC.join(', ')}`);
clusterSizes.redisFsync = redisFsync;
const setup: Setup = { root, profileArgs: profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`], fileLimit, redisFsync };

const systems = chosenSystems.filter((id) => {
  if (id === 'mqtt' && mosquittoBinary() === undefined) {
    notes.push('mosquitto is not installed (Debian: apt-get install -y mosquitto): MQTT was not measured');
    return false;
  }
  if (id === 'holdfastRedis' && redisServerBinary() === undefined) {
    notes.push('redis-server is not installed (Debian: apt-get install -y redis-server): the Redis store was not measured');
    return false;
  }
  return true;
});
const clusterSystems = runsCluster ? chosenClusterSystems : [];
if (clusterSystems.length > 0 && redisServerBinary() === undefined) {
  notes.push('redis-server is not installed (Debian: apt-get install -y redis-server): the cluster workloads were not run');
  clusterSystems.length = 0;
}
if (clusterSystems.length > 0 && runs('failover') && nginxBinary() === undefined) {
  notes.push('nginx is not installed (Debian: apt-get install -y nginx): the failover was not run');
}
if (systems.includes('holdfastRedis') || clusterSystems.length > 0) {
  // What an acknowledgement means depends on Redis's persistence (docs/redis.md): the results say which.
  notes.push(
    `Redis store: a private redis-server ${redisServerVersion()} on loopback, pinned to the server's CPU, ` +
      `started with ${redisPersistence(redisFsync).map((arg) => (arg === '' ? "''" : arg)).join(' ')} (--redis-fsync=${redisFsync}); ` +
      `its CPU and RSS are added to the Node server's`,
  );
}

const NOT_APPLICABLE: Partial<Record<Workload, Partial<Record<SystemId, string>>>> = {
  catchup: {
    ws: 'no reconnection and no history',
    holdfastVolatile: 'volatile topics keep no history, by design',
  },
  storm: {
    ws: 'no reconnection built in',
    holdfastVolatile: 'the same server and client as the memory store: the topic mode does not change reconnecting',
  },
};

const workloads: BenchResults['workloads'] = { throughput: {}, fanout: {}, latency: {}, memory: {}, catchup: {}, storm: {} };
let stallResult: BenchResults['sqliteStall'];
let hostileResult: BenchResults['hostile'];
let clusterResult: ClusterResults | undefined;
const outFile = resolve(value('out') ?? join(root, 'bench/results/latest.json'));

// --merge: the figures of the workloads not run now come from the previous run in the output file.
if (flag('merge')) {
  let text: string;
  try {
    text = readFileSync(outFile, 'utf8');
  } catch (error) {
    throw new Error(`--merge: cannot read the previous results ${outFile} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  const previous = asBenchResults(JSON.parse(text), outFile);
  const carried = carryOver(previous, (name) => only.includes(name));
  Object.assign(workloads, carried.workloads);
  stallResult = carried.sqliteStall;
  hostileResult = carried.hostile;
  clusterResult = carried.cluster;
  const kept = carried.names;
  if (kept.length > 0) notes.push(`merged: ${kept.join(', ')} measured by the run of ${previous.date} (${previous.command})`);
}

async function attempt<T>(what: string, run: () => Promise<T>): Promise<T | Failed> {
  const begun = performance.now();
  process.stderr.write(`[bench] ${what}…`);
  try {
    const result = await run();
    process.stderr.write(` ${((performance.now() - begun) / 1000).toFixed(1)} s\n`);
    return result;
  } catch (error) {
    process.stderr.write('\n');
    const message = error instanceof Error ? error.message : String(error);
    console.error(`[bench] ${what} failed: ${message}`);
    return { error: message };
  }
}

async function each<T>(workload: Exclude<Workload, 'stall' | 'hostile'>, into: PerSystem<T>, run: (system: SystemId) => Promise<T>): Promise<void> {
  if (!runs(workload)) return;
  for (const system of systems) {
    const reason = NOT_APPLICABLE[workload]?.[system];
    into[system] = reason !== undefined ? { notApplicable: reason } : await attempt(`${workload}: ${SYSTEM_LABELS[system]}`, () => run(system));
  }
}

/** Runs `run` for each cluster system, into `into`, unless `workload` was not asked for. */
async function eachCluster<T>(workload: (typeof CLUSTER_WORKLOADS)[number], what: string, into: PerClusterSystem<T>, run: (system: ClusterSystemId) => Promise<T>): Promise<void> {
  if (!runs(workload)) return;
  for (const system of clusterSystems) into[system] = await attempt(`${what}: ${CLUSTER_SYSTEM_LABELS[system]}`, () => run(system));
}

const ratio = (a: number | undefined, b: number | undefined): number | undefined =>
  a !== undefined && b !== undefined && Number.isFinite(a) && Number.isFinite(b) && b > 0 ? a / b : undefined;

function targets(): TargetCheck[] {
  const { throughput: tp, memory: mem, fanout: fo, latency: lat } = workloads;
  const rate = (id: SystemId): number | undefined => {
    const entry = tp[id];
    return isFigures(entry) ? entry.messagesPerSecond : undefined;
  };
  const rss = (id: SystemId): number | undefined => {
    const entry = mem[id];
    return isFigures(entry) ? entry.perConnection.rss : undefined;
  };
  const deliveries = (id: SystemId): number | undefined => {
    const entry = fo[id];
    return isFigures(entry) ? entry.deliveriesPerSecond : undefined;
  };
  const p99 = (id: SystemId): number | undefined => {
    const entry = lat[id];
    return isFigures(entry) ? entry.p99 : undefined;
  };
  const check = (name: string, how: string, value: number | undefined, bound: { min?: number; max?: number }): TargetCheck => ({
    name,
    how,
    value,
    ...bound,
    met: value === undefined ? undefined : bound.min !== undefined ? value >= bound.min : value <= (bound.max ?? Infinity),
  });
  const list: TargetCheck[] = [];
  for (const id of ['holdfastMemory', 'holdfastSqlite'] as const) {
    const label = id === 'holdfastMemory' ? 'memory store' : 'SQLite store';
    list.push(
      check(`reliable publish+ack ≥ 2× Socket.IO emit+ack (${label})`, `${id} msg/s ÷ socketio msg/s`, ratio(rate(id), rate('socketio')), { min: 2 }),
      check(`reliable publish+ack ≥ 60 % of raw ws echo (${label})`, `${id} msg/s ÷ ws msg/s`, ratio(rate(id), rate('ws')), { min: 0.6 }),
    );
  }
  list.push(
    check('memory per idle connection ≤ 1.5× raw ws', 'holdfastMemory RSS/conn ÷ ws RSS/conn', ratio(rss('holdfastMemory'), rss('ws')), { max: 1.5 }),
    check('memory per idle connection ≤ 0.6× Socket.IO', 'holdfastMemory RSS/conn ÷ socketio RSS/conn', ratio(rss('holdfastMemory'), rss('socketio')), { max: 0.6 }),
  );
  for (const id of ['holdfastMemory', 'holdfastSqlite'] as const) {
    const label = id === 'holdfastMemory' ? 'memory store' : 'SQLite store';
    list.push(
      check(`fan-out deliveries/s ≥ Socket.IO broadcast (${label})`, `${id} deliveries/s ÷ socketio deliveries/s`, ratio(deliveries(id), deliveries('socketio')), { min: 1 }),
      check(`p99 latency ≤ Socket.IO's (${label})`, `${id} p99 ÷ socketio p99`, ratio(p99(id), p99('socketio')), { max: 1 }),
    );
  }
  list.push(...clusterTargets());
  return list;
}

/** The targets of issue 12, on the cluster workloads' figures (none when they were not run). */
function clusterTargets(): TargetCheck[] {
  const c = clusterResult;
  if (c === undefined) return [];
  const check = (name: string, how: string, value: number | undefined, bound: { min?: number; max?: number }, unit?: string): TargetCheck => ({
    name,
    how,
    value,
    ...bound,
    ...(unit === undefined ? {} : { unit }),
    met: value === undefined ? undefined : bound.min !== undefined ? value >= bound.min : value <= (bound.max ?? Infinity),
  });
  const figures = <T extends object>(entries: PerClusterSystem<T> | undefined, id: ClusterSystemId): T | undefined => {
    const entry = entries?.[id];
    return isFigures(entry) ? entry : undefined;
  };
  const list: TargetCheck[] = [];
  if (c.latency !== undefined) {
    const one = figures(c.latency.oneNode, 'holdfastRedis')?.p99;
    const cross = figures(c.latency.crossNode, 'holdfastRedis')?.p99;
    list.push(check('cross-node p99 ≤ 2× single-node p99 (Redis store)', 'holdfastRedis cross-node p99 ÷ one-node p99, both on Redis', ratio(cross, one), { max: 2 }));
  }
  if (c.throughput !== undefined) {
    for (const [key, label] of [
      ['oneNode', 'one node'],
      ['twoNodes', 'two nodes'],
    ] as const) {
      const rate = (id: ClusterSystemId): number | undefined => figures(c.throughput?.[key], id)?.messagesPerSecond;
      list.push(
        check(
          `Redis store publish+ack ≥ 2× Socket.IO + redis-streams-adapter (${label})`,
          `holdfastRedis msg/s ÷ socketioStreams msg/s, ${label}`,
          ratio(rate('holdfastRedis'), rate('socketioStreams')),
          { min: 2 },
        ),
      );
    }
  }
  if (c.failover !== undefined) {
    const f = figures(c.failover, 'holdfastRedis');
    const complete = f === undefined ? undefined : Number.isFinite(f.allCompleteMs) ? f.allCompleteMs / 1000 : Infinity;
    const clients = f?.clients ?? c.sizes.failoverClients;
    list.push(
      check(
        `failover of ${clients.toLocaleString('en-US')} clients complete within 5 s (Redis store)`,
        'holdfastRedis: from the SIGKILL until every client is back with every message (never: some client kept a gap)',
        complete,
        { max: 5 },
        's',
      ),
      check('failover: 0 messages lost (Redis store)', 'holdfastRedis: acknowledged messages some client never received, summed over clients', f?.lost, { max: 0 }, 'messages'),
    );
  }
  return list;
}

function versionOf(name: string): string {
  try {
    return (JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

function results(partial: boolean): BenchResults {
  return {
    date: new Date().toISOString(),
    quick,
    partial,
    command: `npm run bench${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`,
    node: process.version,
    v8: process.versions.v8,
    platform: `${process.platform} ${process.arch}`,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cpuCount: cpus().length,
    pinning: pinning ?? 'none (taskset unavailable or fewer than 2 CPUs)',
    loadAverageAtStart,
    loadAverageAtEnd: loadavg().map((v) => Math.round(v * 100) / 100),
    durationSeconds: Math.round((performance.now() - started) / 100) / 10,
    versions: {
      holdfast: (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version,
      ws: versionOf('ws'),
      'socket.io': versionOf('socket.io'),
      'socket.io-client': versionOf('socket.io-client'),
      mqtt: versionOf('mqtt'),
      'better-sqlite3': versionOf('better-sqlite3'),
      mosquitto: mosquittoVersion(),
      ioredis: versionOf('ioredis'),
      '@socket.io/redis-adapter': versionOf('@socket.io/redis-adapter'),
      '@socket.io/redis-streams-adapter': versionOf('@socket.io/redis-streams-adapter'),
      nginx: nginxVersion(),
      'redis-server': redisServerVersion(),
    },
    sizes,
    notes,
    workloads,
    targets: targets(),
    sqliteStall: stallResult,
    hostile: hostileResult,
    cluster: clusterResult,
  };
}

/** `nginx -v` prints "nginx version: nginx/1.22.1" on stderr. */
function nginxVersion(): string {
  const binary = nginxBinary();
  if (binary === undefined) return 'not installed';
  const result = spawnSync(binary, ['-v'], { encoding: 'utf8' });
  return /nginx\/(\S+)/.exec(`${result.stdout ?? ''}${result.stderr ?? ''}`)?.[1] ?? 'unknown';
}

/** `mosquitto -h` prints "mosquitto version 2.0.11" (and exits with 3). */
function mosquittoVersion(): string {
  const binary = mosquittoBinary();
  if (binary === undefined) return 'not installed';
  const result = spawnSync(binary, ['-h'], { encoding: 'utf8' });
  return /version (\S+)/.exec(`${result.stdout ?? ''}${result.stderr ?? ''}`)?.[1] ?? 'unknown';
}

async function write(partial: boolean): Promise<void> {
  const report = results(partial);
  const out = outFile;
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(report, null, 2) + '\n');
  console.log(`\nwritten: ${out.replace(root + '/', '')}`);
  if (flag('no-report') || partial) return;
  // The markdown table and the chart are rendered from what was just written.
  const { writeReport } = await import('./report/render.js');
  for (const file of writeReport(report, root)) console.log(`written: ${file.replace(root + '/', '')}`);
}

const deadline = setTimeout(() => {
  console.error(`[bench] the whole run took more than ${deadlineMs / 1000} s; stopping`);
  notes.push(`stopped by the ${deadlineMs / 1000} s deadline`);
  killChildren();
  void write(true).finally(() => process.exit(1));
}, deadlineMs);

console.log(
  `holdfast bench${quick ? ' (quick)' : ''}: node ${process.version}, ${cpus()[0]?.model ?? '?'} ×${cpus().length}, ` +
    (pinning === undefined ? 'no CPU pinning' : `servers on CPU ${pinning.server}, load on CPU ${pinning.load}`) +
    `, load average ${loadAverageAtStart.join(' ')}`,
);

const throughputConfig = { inFlight: sizes.inFlight, warmupMs: sizes.warmupMs, windowMs: sizes.windowMs, windows: sizes.windows, payload };
await each('throughput', workloads.throughput, (system) => throughput(setup, system, throughputConfig));
await each('fanout', workloads.fanout, (system) =>
  fanout(setup, system, {
    subscribers: sizes.subscribers,
    batch: 250,
    window: 50,
    warmupMs: sizes.warmupMs,
    windowMs: sizes.windowMs * sizes.windows,
    payloadBytes,
    topic: 'bench/fanout',
  }),
);
await each('latency', workloads.latency, (system) =>
  latency(setup, system, { ratePerSecond: sizes.latencyRate, warmupMs: sizes.warmupMs, durationMs: sizes.latencyMs, payloadBytes, topic: 'bench/latency' }),
);
await each('memory', workloads.memory, (system) => memory(setup, system, { count: sizes.idleConnections, batch: 250 }));
await each('catchup', workloads.catchup, (system) =>
  catchup(setup, system, { messages: sizes.catchupMessages, inFlight: sizes.inFlight, payloadBytes, quietMs: quick ? 1000 : 3000, topic: 'bench/catchup' }),
);
await each('storm', workloads.storm, (system) => storm(setup, system, { clients: sizes.stormClients, batch: 250, timeoutMs: quick ? 20_000 : 60_000 }));
if (runs('stall') && systems.includes('holdfastSqlite')) {
  stallResult = await attempt(`SQLite event-loop stalls, trim and sweep of ${stallRows.toLocaleString('en-US')} rows`, () =>
    sqliteStall(setup, { rows: stallRows, deleteChunk }, 30_000 + stallRows * 0.15),
  );
}
if (runs('hostile')) {
  hostileResult = emptyHostileResults();
  await runHostile(setup, quick, attempt, hostileResult);
}
if (clusterSystems.length > 0) {
  // The figures of the cluster workloads not run now stay as --merge carried them over.
  const cluster: ClusterResults = { ...clusterResult, sizes: clusterSizes };
  clusterResult = cluster;
  const s = clusterSizes;
  if (runs('cluster-throughput')) {
    cluster.throughput = { oneNode: {}, twoNodes: {} };
    const config = { inFlight: s.inFlight, warmupMs: s.warmupMs, windowMs: s.windowMs, windows: s.windows, payload };
    for (const nodes of [1, 2]) {
      const into = nodes === 1 ? cluster.throughput.oneNode : cluster.throughput.twoNodes;
      await eachCluster('cluster-throughput', `cluster throughput, ${nodes} node${nodes === 1 ? '' : 's'}`, into, (system) => clusterThroughput(setup, system, nodes, config));
    }
  }
  if (runs('cluster-fanout')) {
    cluster.fanout = {};
    const config = { subscribers: s.subscribers, batch: 250, window: 50, warmupMs: s.warmupMs, windowMs: s.windowMs * s.windows, payloadBytes, topic: 'bench/fanout' };
    await eachCluster('cluster-fanout', 'cluster fan-out across nodes', cluster.fanout, (system) => clusterFanout(setup, system, config));
  }
  if (runs('cluster-latency')) {
    cluster.latency = { oneNode: {}, crossNode: {} };
    const config = { ratePerSecond: s.latencyRate, warmupMs: s.warmupMs, durationMs: s.latencyMs, payloadBytes, topic: 'bench/latency' };
    await eachCluster('cluster-latency', 'cluster latency, one node', cluster.latency.oneNode, (system) => clusterLatency(setup, system, false, config));
    await eachCluster('cluster-latency', 'cluster latency, cross-node', cluster.latency.crossNode, (system) => clusterLatency(setup, system, true, config));
  }
  if (runs('failover') && nginxBinary() !== undefined) {
    cluster.failover = {};
    const config = {
      clients: s.failoverClients,
      perLoad: FAILOVER_PER_LOAD,
      batch: 250,
      ratePerSecond: s.failoverRate,
      payloadBytes,
      warmupMs: quick ? 500 : 1000,
      timeoutMs: s.failoverTimeoutMs,
    };
    await eachCluster('failover', `failover, ${num(s.failoverClients)} clients`, cluster.failover, (system) => failover(setup, system, config));
  }
}
clearTimeout(deadline);

const final = results(false);
printSummary(final);
for (const note of notes) console.log(`note: ${note}`);
if (profileDir !== undefined) console.log(`\nCPU profiles of the Holdfast server processes: ${profileDir}`);
console.log(`total: ${Math.round((performance.now() - started) / 1000)} s`);
await write(false);
