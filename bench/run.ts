/**
 * `npm run bench`: Holdfast next to raw `ws`, Socket.IO 4 and MQTT (Mosquitto + mqtt.js), six
 * workloads, one run on one machine. Each measurement starts a fresh server under test and a
 * fresh load process, pinned to separate cores. It prints and records figures; it asserts nothing.
 * Writes bench/results/latest.json (or --out), then bench/RESULTS.md and bench/results/chart.png.
 *
 *   npm run bench [-- --quick] [--only=throughput,fanout,latency,memory,catchup,storm,stall,hostile]
 *                 [--systems=ws,socketio,…] [--profile[=dir]] [--out file] [--no-report]
 *                 [--connections N] [--subscribers N] [--storm-clients N] [--catchup-messages N]
 *                 [--in-flight N] [--stall-rows N] [--delete-chunk N] [--merge]
 *                 [--redis-fsync=no|everysec|always]
 *
 * --quick     smaller sizes and shorter windows: the whole run in under 2 minutes
 * --profile   the Holdfast servers run with --cpu-prof (summarise with bench/profile-top.ts)
 * --merge     workloads not run keep their figures from the output file (--only=hostile after a full run)
 * hostile     one hostile connection per flood against a fresh Holdfast server (bench/hostile/)
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
  SYSTEM_IDS,
  SYSTEM_LABELS,
  isFigures,
  type BenchResults,
  type Failed,
  type PerSystem,
  type SystemId,
  type TargetCheck,
} from './lib/results.js';
import { catchup, fanout, latency, memory, sqliteStall, storm, throughput, type Setup } from './lib/scenarios.js';
import { printSummary } from './lib/summary.js';
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

const WORKLOADS = ['throughput', 'fanout', 'latency', 'memory', 'catchup', 'storm', 'stall', 'hostile'] as const;
type Workload = (typeof WORKLOADS)[number];
const only = value('only')?.split(',') ?? [...WORKLOADS];
for (const name of only) if (!(WORKLOADS as readonly string[]).includes(name)) throw new Error(`--only: unknown workload "${name}" (${WORKLOADS.join(', ')})`);
const chosenSystems = (value('systems')?.split(',') ?? [...SYSTEM_IDS]) as SystemId[];
for (const id of chosenSystems) if (!SYSTEM_IDS.includes(id)) throw new Error(`--systems: unknown system "${id}" (${SYSTEM_IDS.join(', ')})`);
const runs = (workload: Workload): boolean => only.includes(workload);

const quick = flag('quick');
const started = performance.now();
const loadAverageAtStart = loadavg().map((v) => Math.round(v * 100) / 100);
// Quick must stay under 2 minutes with the build; the deadline stops a run that hangs. The hostile
// floods add about 5 minutes to a full run (2 to a quick one).
const deadlineMs = (quick ? 150_000 : 900_000) + (only.includes('hostile') ? (quick ? 150_000 : 480_000) : 0);
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
const stallRows = numberOption('stall-rows', quick ? 50_000 : 1_000_000);
const deleteChunkText = value('delete-chunk');
const deleteChunk = deleteChunkText === undefined ? undefined : Number(deleteChunkText);
const profileDir = flag('profile') ? resolve(value('profile') ?? join(tmpdir(), 'holdfast-bench-profiles')) : undefined;
const notes: string[] = [];
if (quick) notes.push('quick run: smaller sizes and one short window per measurement; read the full run for the record');

// Each connection is a file descriptor in the server and in the load process.
const limits = fileLimits();
const needed = Math.max(sizes.idleConnections, sizes.stormClients, sizes.subscribers) + 512;
let fileLimit: number | undefined;
if (limits.soft < needed) {
  fileLimit = Math.min(needed, limits.hard);
  if (limits.hard < needed) {
    const cap = Math.max(0, limits.hard - 512);
    notes.push(`open-file limit ${limits.hard}: connection counts capped at ${cap}`);
    sizes.idleConnections = Math.min(sizes.idleConnections, cap);
    sizes.stormClients = Math.min(sizes.stormClients, cap);
    sizes.subscribers = Math.min(sizes.subscribers, cap);
  }
}
const redisFsync = (value('redis-fsync') ?? 'everysec') as RedisFsync;
if (!REDIS_FSYNC.includes(redisFsync)) throw new Error(`--redis-fsync: "${redisFsync}" is not one of ${REDIS_FSYNC.join(', ')}`);
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
if (systems.includes('holdfastRedis')) {
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
      'redis-server': redisServerVersion(),
    },
    sizes,
    notes,
    workloads,
    targets: targets(),
    sqliteStall: stallResult,
    hostile: hostileResult,
  };
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
clearTimeout(deadline);

const final = results(false);
printSummary(final);
for (const note of notes) console.log(`note: ${note}`);
if (profileDir !== undefined) console.log(`\nCPU profiles of the Holdfast server processes: ${profileDir}`);
console.log(`total: ${Math.round((performance.now() - started) / 1000)} s`);
await write(false);
