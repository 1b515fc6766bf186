/**
 * `npm run bench`: throughput of raw `ws` echo vs Holdfast reliable publish+ack (memory store, and
 * SQLite store in a fresh temp file), and server memory per idle connection, each with the server
 * under test and the load generator in separate processes pinned to one core each; then the
 * event-loop stalls of the SQLite store's trim and sweep of many rows (bench/store/sqlite-stall.ts).
 * A measurement: it prints figures and asserts nothing. Temp databases are removed afterwards.
 *
 *   node --import tsx bench/run.ts [--quick] [--connections N] [--batch B] [--profile[=dir]] [--out file]
 *
 * --profile[=dir]   the Holdfast throughput servers run with --cpu-prof (summarise with bench/profile-top.ts)
 * --stall-rows N    rows trimmed / swept by the SQLite stall measurement (default 1,000,000; --quick 200,000)
 * --delete-chunk N  SqliteStore deleteChunk for the stall measurement (default: the store's)
 * --in-flight N     messages kept in flight by the throughput load (default 100)
 * --holdfast-options <json>   extra HoldfastServer options for every Holdfast server (experiments)
 */
import { cpus, loadavg, tmpdir } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makePayload } from './lib/payload.js';
import type { SqliteStallResult } from './lib/ipc.js';
import { memoryTable, millis, num, pct, stallTable, throughputTable } from './lib/report.js';
import {
  databaseBytes,
  memory,
  sqliteStall,
  throughput,
  withTempFolder,
  type MemoryFigures,
  type Setup,
  type ThroughputFigures,
} from './lib/scenarios.js';
import { fileLimits, killChildren, pinning } from './lib/spawn.js';

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

const quick = flag('quick');
const loadAverageAtStart = loadavg().map((value) => Math.round(value * 100) / 100);
const started = performance.now();
const deadlineMs = quick ? 90_000 : 240_000;
const payload = makePayload(100);
const load = {
  inFlight: Number(value('in-flight') ?? 100),
  warmupMs: quick ? 500 : 1000,
  windowMs: quick ? 2000 : 5000,
  windows: quick ? 1 : 3,
  payload,
};
const batch = Number(value('batch') ?? 200);
const stallRows = Number(value('stall-rows') ?? (quick ? 200_000 : 1_000_000));
const deleteChunkText = value('delete-chunk');
const deleteChunk = deleteChunkText === undefined ? undefined : Number(deleteChunkText);
let connections = Number(value('connections') ?? (quick ? 1000 : 3000));
const profileDir = flag('profile') ? resolve(value('profile') ?? join(tmpdir(), 'holdfast-bench-profiles')) : undefined;
const notes: string[] = [];
const holdfastOptions = value('holdfast-options');
const holdfastArgs = holdfastOptions === undefined ? [] : [`--options=${holdfastOptions}`];
if (holdfastOptions !== undefined) notes.push(`Holdfast servers ran with extra options ${holdfastOptions}`);

// Every connection is one file descriptor in each process, plus a few hundred for node itself.
const limits = fileLimits();
const needed = connections + 256;
let fileLimit: number | undefined;
if (limits.soft < needed) {
  if (limits.hard >= needed) fileLimit = needed;
  else {
    fileLimit = limits.hard === Infinity ? needed : limits.hard;
    connections = Math.max(0, fileLimit - 256);
    notes.push(`open-file limit ${limits.hard} (hard): connections capped at ${connections}`);
  }
}

const setup: Setup = {
  root,
  profileArgs: profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`],
  fileLimit,
};

const deadline = setTimeout(() => {
  console.error(`[bench] the whole run took more than ${deadlineMs / 1000} s; stopping`);
  notes.push(`stopped by the ${deadlineMs / 1000} s deadline`);
  killChildren();
  write(true);
  process.exit(1);
}, deadlineMs);

const results: {
  throughput: Record<string, ThroughputFigures | { error: string }>;
  memory: Record<string, MemoryFigures | { error: string }>;
  sqliteStall: SqliteStallResult | { error: string } | undefined;
  /** Database + WAL size when the SQLite throughput server stopped. */
  sqliteDatabaseBytes: number | undefined;
} = { throughput: {}, memory: {}, sqliteStall: undefined, sqliteDatabaseBytes: undefined };

async function attempt<T>(what: string, run: () => Promise<T>): Promise<T | { error: string }> {
  process.stderr.write(`[bench] ${what}…\n`);
  try {
    return await run();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`[bench] ${what} failed: ${message}`);
    return { error: message };
  }
}

const ok = <T extends object>(entry: T | { error: string } | undefined): T | undefined =>
  entry === undefined || 'error' in entry ? undefined : entry;
const err = (entry: object | undefined): string | undefined =>
  entry !== undefined && 'error' in entry ? String((entry as { error: unknown }).error) : undefined;

function ratio(a: ThroughputFigures | undefined, b: ThroughputFigures | undefined): number | undefined {
  return a !== undefined && b !== undefined && b.messagesPerSecond > 0 ? a.messagesPerSecond / b.messagesPerSecond : undefined;
}

function write(partial: boolean): void {
  const ws = ok(results.throughput['wsEcho']);
  const hf = ok(results.throughput['holdfast']);
  const hfFree = ok(results.throughput['holdfastNoRateLimit']);
  const hfSqlite = ok(results.throughput['holdfastSqlite']);
  const report = {
    date: new Date().toISOString(),
    partial,
    command: `node ${process.execArgv.join(' ')} ${process.argv.slice(1).map((a) => a.replace(root + '/', '')).join(' ')}`.replace(/\s+/g, ' '),
    node: process.version,
    v8: process.versions.v8,
    platform: `${process.platform} ${process.arch}`,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cpuCount: cpus().length,
    pinning: pinning ?? 'none (taskset unavailable or fewer than 2 CPUs)',
    loadAverageAtStart: loadAverageAtStart,
    loadAverageAtEnd: loadavg().map((value) => Math.round(value * 100) / 100),
    durationSeconds: Math.round((performance.now() - started) / 100) / 10,
    notes,
    throughput: {
      payloadBytes: JSON.stringify(payload).length,
      ...load,
      payload: undefined,
      results: results.throughput,
      ratioHoldfastToWs: ratio(hf, ws),
      ratioHoldfastNoRateLimitToWs: ratio(hfFree, ws),
      /** SQLite store / memory store, both without the rate limit: the target is ≥ 0.5. */
      ratioSqliteToMemory: ratio(hfSqlite, hfFree),
      ratioSqliteToWs: ratio(hfSqlite, ws),
      sqliteDatabaseBytesAfter: results.sqliteDatabaseBytes,
    },
    memory: { connections, batch, results: results.memory },
    sqliteStall: results.sqliteStall,
  };
  const out = resolve(value('out') ?? join(root, 'bench/results/latest.json'));
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(report, null, 2) + '\n');
  console.log(`\nwritten: ${out.replace(root + '/', '')}`);
}

console.log(
  `holdfast bench${quick ? ' (quick)' : ''}: node ${process.version}, ${cpus()[0]?.model ?? '?'} ×${cpus().length}, ` +
    (pinning === undefined ? 'no CPU pinning' : `server on CPU ${pinning.server}, load on CPU ${pinning.load}`) +
    `, load average ${loadAverageAtStart.join(' ')}`,
);

const wsLabel = 'raw ws echo';
const hfLabel = 'holdfast publish+ack (defaults)';
const hfFreeLabel = 'holdfast publish+ack (no rate limit)';
const hfSqliteLabel = 'holdfast publish+ack (sqlite)';
results.throughput['wsEcho'] = await attempt(wsLabel, () => throughput(setup, 'ws', { script: 'ws-echo.ts' }, 'throughput-ws.ts', load));
results.throughput['holdfast'] = await attempt(hfLabel, () =>
  throughput(setup, 'holdfast', { script: 'holdfast.ts', args: holdfastArgs, profile: true }, 'throughput-holdfast.ts', load),
);
// The default limits.messageRate (10,000 frames/s per connection) caps one publishing client; the
// same run without it shows what the server itself costs.
results.throughput['holdfastNoRateLimit'] = await attempt(hfFreeLabel, () =>
  throughput(setup, 'holdfast-nolimit', { script: 'holdfast.ts', args: ['--no-rate-limit', ...holdfastArgs], profile: true }, 'throughput-holdfast.ts', load),
);
// The same without the rate limit, on a SqliteStore (synchronous 'normal') in a fresh temp file.
results.throughput['holdfastSqlite'] = await attempt(hfSqliteLabel, () =>
  withTempFolder('holdfast-bench-sqlite-', async (folder) => {
    const file = join(folder, 'holdfast.db');
    try {
      return await throughput(
        setup,
        'holdfast-sqlite',
        { script: 'holdfast.ts', args: ['--no-rate-limit', `--sqlite=${file}`, ...holdfastArgs], profile: true },
        'throughput-holdfast.ts',
        load,
      );
    } finally {
      results.sqliteDatabaseBytes = databaseBytes(file);
    }
  }),
);
const memoryOptions = { count: connections, batch, topic: 'bench:idle' };
results.memory['wsEcho'] = await attempt(`memory, ${connections} raw ws connections`, () =>
  memory(setup, 'ws-memory', 'ws-echo.ts', 'connections-ws.ts', memoryOptions),
);
results.memory['holdfast'] = await attempt(`memory, ${connections} holdfast connections`, () =>
  memory(setup, 'holdfast-memory', 'holdfast.ts', 'connections-holdfast.ts', memoryOptions, holdfastArgs),
);
results.sqliteStall = await attempt(`SQLite event-loop stalls, trim and sweep of ${num(stallRows)} rows`, () =>
  sqliteStall(setup, { rows: stallRows, deleteChunk }, 30_000 + stallRows * 0.15),
);
clearTimeout(deadline);

const ws = ok(results.throughput['wsEcho']);
const hf = ok(results.throughput['holdfast']);
const hfFree = ok(results.throughput['holdfastNoRateLimit']);
const hfSqlite = ok(results.throughput['holdfastSqlite']);
console.log(
  `\nThroughput: ${JSON.stringify(payload).length}-byte JSON payload, ${load.inFlight} in flight, ` +
    `${load.windows} × ${load.windowMs / 1000} s after ${load.warmupMs / 1000} s warm-up\n` +
    `(CPU in % of one core; "other": the rest of the machine meanwhile, should be near 0)\n`,
);
console.log(
  throughputTable([
    [wsLabel, ws, err(results.throughput['wsEcho'])],
    [hfLabel, hf, err(results.throughput['holdfast'])],
    [hfFreeLabel, hfFree, err(results.throughput['holdfastNoRateLimit'])],
    [hfSqliteLabel, hfSqlite, err(results.throughput['holdfastSqlite'])],
  ]),
);
console.log(`\nholdfast / ws: ${pct(ratio(hf, ws))} with default options, ${pct(ratio(hfFree, ws))} without the rate limit`);
const sqliteRatio = ratio(hfSqlite, hfFree);
console.log(
  `sqlite / memory (both without the rate limit): ${sqliteRatio === undefined ? '-' : `${(sqliteRatio * 100).toFixed(1)}%`} (target ≥ 50%${sqliteRatio === undefined ? '' : sqliteRatio >= 0.5 ? ', met' : ', NOT met'})` +
    (results.sqliteDatabaseBytes === undefined ? '' : `; database + WAL after the run: ${(results.sqliteDatabaseBytes / 2 ** 20).toFixed(0)} MiB`),
);
console.log(`\nServer memory per idle connection ((after − before) / N, after global.gc()):\n`);
console.log(
  memoryTable([
    ['raw ws', ok(results.memory['wsEcho']), err(results.memory['wsEcho'])],
    ['holdfast (open + 1 subscription)', ok(results.memory['holdfast']), err(results.memory['holdfast'])],
  ]),
);
const stall = ok(results.sqliteStall);
console.log(`\nSQLite store: event-loop stalls while removing ${num(stallRows)} rows (separate process, fresh temp database, deleteChunk ${stall?.deleteChunk ?? 'default'})`);
if (stall !== undefined) {
  const { fill } = stall;
  console.log(
    `filled ${num(stall.rows)} messages on one topic, each with a dedupKey (TTL 1 ms), ${num(stall.appendBatch)} per append call: ` +
      `${(fill.ms / 1000).toFixed(1)} s, ${num(fill.rowsPerSecond)} rows/s, longest append call ${millis(fill.maxBatchMs)} ms, ` +
      `database ${(fill.databaseBytes / 2 ** 20).toFixed(0)} MiB + WAL ${(fill.walBytes / 2 ** 20).toFixed(0)} MiB\n` +
      `(max stall: largest gap between ticks of a 1 ms setInterval; loop delay: monitorEventLoopDelay({ resolution: 1 }), ~1 ms = no delay)\n`,
  );
}
console.log(
  stallTable([
    ['idle loop (baseline, 300 ms)', stall?.idle, err(results.sqliteStall)],
    [`trim(topic, { maxCount: 0 })`, stall?.trim],
    ['sweep() of expired dedup ids', stall?.sweep],
  ]),
);
for (const [key, entry] of Object.entries(results.throughput)) {
  const other = ok(entry)?.otherCpu;
  if (other === undefined || other <= 0.25) continue;
  notes.push(
    key === 'holdfastSqlite'
      ? `the rest of the machine used ${other.toFixed(2)} cores during ${key}: partly the kernel writing the server's database out (disk I/O), possibly other work`
      : `other processes used ${other.toFixed(2)} cores during ${key}: its figures are disturbed`,
  );
}
for (const note of notes) console.log(`note: ${note}`);
if (profileDir !== undefined) console.log(`\nCPU profiles of the Holdfast server processes: ${profileDir}`);
console.log(`total: ${num((performance.now() - started) / 1000)} s`);
write(false);
