/**
 * One workload against one system: a fresh server under test (bench/lib/servers.ts) and a fresh
 * load process (bench/load/main.ts), each pinned to its own core; the server's CPU is sampled at
 * the load's measure marks. Every scenario stops both processes, whatever happens.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CatchupConfig, FanoutConfig, LatencyConfig } from '../load/workloads.js';
import { cpuShare, type CpuSample, type LoadReport, type OpenOutcome, type SqliteStallResult, type ThroughputConfig, type ThroughputResult } from './ipc.js';
import type { CatchupFigures, FanoutFigures, LatencyFigures, MemoryFigures, StormFigures, SystemId, ThroughputFigures } from './results.js';
import { startServer, type RedisFsync, type ServerHandle } from './servers.js';
import { Child, pinning } from './spawn.js';
import { machineCores, systemSample, type SystemSample } from './system.js';

export interface Setup {
  root: string;
  /** Extra node flags of the Holdfast server processes (e.g. --cpu-prof). */
  profileArgs: string[];
  fileLimit: number | undefined;
  /** holdfastRedis: its redis-server's durability (--redis-fsync). */
  redisFsync?: RedisFsync | undefined;
}

type Report<T extends LoadReport['type']> = Extract<LoadReport, { type: T }>;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Runs `work` with a server of `system` and a load process for it, in a temp folder; stops both after. */
async function withSystem<T>(
  setup: Setup,
  system: SystemId,
  work: (server: ServerHandle, load: Child, folder: string) => Promise<T>,
): Promise<T> {
  return withTempFolder(`holdfast-bench-${system}-`, async (folder) => {
    const profile = system.startsWith('holdfast') ? setup.profileArgs : [];
    // The load process starts meanwhile (it waits for its command): start-up is half the cost of a quick run.
    const load = new Child(`${system} load`, 'bench/load/main.ts', {
      cwd: setup.root,
      nodeArgs: [],
      args: [`--system=${system}`],
      cpu: pinning?.load,
      fileLimit: setup.fileLimit,
    });
    let server: ServerHandle | undefined;
    try {
      server = await startServer(system, { root: setup.root, nodeArgs: profile, fileLimit: setup.fileLimit, folder, redisFsync: setup.redisFsync });
      return await work(server, load, folder);
    } finally {
      load.send({ type: 'stop' });
      await Promise.all([load.finish(8000), server?.stop()]);
    }
  });
}

/** Samples the server's CPU (and the machine's) at the load's measure-start and measure-end marks. */
function sampleAtMarks(server: ServerHandle, load: Child): () => Promise<{ serverCpu: number | undefined; machineCores: number | undefined }> {
  const samples: Array<Promise<CpuSample | undefined>> = [];
  const machine: Array<SystemSample | undefined> = [];
  load.onMessage((message) => {
    if (message.type !== 'mark') return;
    machine.push(systemSample());
    samples.push(server.cpu());
  });
  return async () => {
    const [start, end] = await Promise.all(samples);
    return {
      serverCpu: start !== undefined && end !== undefined ? cpuShare(start, end) : undefined,
      machineCores: machineCores(machine[0], machine[1]),
    };
  };
}

/** Workload 1: a closed loop of `inFlight` publishes awaiting their confirmation. */
export async function throughput(setup: Setup, system: SystemId, config: Omit<ThroughputConfig, 'url'>): Promise<ThroughputFigures> {
  return withSystem(setup, system, async (server, load) => {
    const cpu = sampleAtMarks(server, load);
    load.send({ type: 'throughput', config: { ...config, url: server.url }, topic: 'bench/throughput' });
    const budget = config.warmupMs + config.windows * config.windowMs + 30_000;
    const { result } = await load.next<Report<'throughput'>>('throughput', budget);
    const { serverCpu, machineCores } = await cpu();
    return {
      ...(result as ThroughputResult),
      messagesPerSecond: median(result.rates),
      serverCpu,
      otherCpu: machineCores === undefined || serverCpu === undefined ? undefined : Math.max(0, machineCores - serverCpu - result.loadCpu),
    };
  });
}

/** Workload 2: one publisher, many subscribers of one topic. */
export async function fanout(setup: Setup, system: SystemId, config: Omit<FanoutConfig, 'url'>): Promise<FanoutFigures> {
  return withSystem(setup, system, async (server, load) => {
    const cpu = sampleAtMarks(server, load);
    load.send({ type: 'fanout', config: { ...config, url: server.url } });
    const budget = 60_000 + config.subscribers * 50 + config.warmupMs + config.windowMs;
    const { result } = await load.next<Report<'fanout'>>('fanout', budget);
    return { ...result, serverCpu: (await cpu()).serverCpu };
  });
}

/** Workload 3: publish → delivery latency at a fixed rate. */
export async function latency(setup: Setup, system: SystemId, config: Omit<LatencyConfig, 'url'>): Promise<LatencyFigures> {
  return withSystem(setup, system, async (server, load) => {
    load.send({ type: 'latency', config: { ...config, url: server.url } });
    const { result } = await load.next<Report<'latency'>>('latency', 40_000 + config.warmupMs + config.durationMs);
    return result;
  });
}

/** Workload 4: server memory before and after `count` idle connections, each with one subscription. */
export async function memory(setup: Setup, system: SystemId, options: { count: number; batch: number }): Promise<MemoryFigures> {
  return withSystem(setup, system, async (server, load) => {
    await sleep(300); // let start-up work finish before the baseline
    const before = await server.memory();
    if (before === undefined) throw new Error('no memory figures from the server');
    load.send({ type: 'open', url: server.url, count: options.count, batch: options.batch, topic: 'bench/idle' });
    const budget = 30_000 + Math.ceil(options.count / options.batch) * 20_000;
    const opened = await load.next<Report<'opened'>>('opened', budget);
    await sleep(600); // batched session saves, acks and timers settle
    const after = await server.memory();
    if (after === undefined) throw new Error('no memory figures from the server');
    const per = (value: number): number => (opened.opened > 0 ? value / opened.opened : NaN);
    return {
      requested: options.count,
      opened: opened.opened,
      failed: opened.failed,
      openMs: opened.ms,
      openErrors: opened.errors,
      before,
      after,
      perConnection: server.hasHeap
        ? { rss: per(after.rss - before.rss), heapUsed: per(after.heapUsed - before.heapUsed), external: per(after.external - before.external) }
        : { rss: per(after.rss - before.rss) },
    };
  });
}

/** Workload 5: catch-up after missing `messages`, against receiving them live. */
export async function catchup(setup: Setup, system: SystemId, config: Omit<CatchupConfig, 'url'>): Promise<CatchupFigures> {
  return withSystem(setup, system, async (server, load) => {
    load.send({ type: 'catchup', config: { ...config, url: server.url } });
    const { result } = await load.next<Report<'catchup'>>('catchup', 60_000 + config.messages * 10 + config.quietMs * 2);
    return result;
  });
}

/**
 * Workload 6: `clients` connected clients; the server is SIGKILLed and started again at once on
 * the same port (and files: the SQLite store keeps its sessions). The load counts the attempts.
 */
export async function storm(setup: Setup, system: SystemId, options: { clients: number; batch: number; timeoutMs: number }): Promise<StormFigures> {
  return withSystem(setup, system, async (server, load) => {
    load.send({ type: 'storm-open', url: server.url, count: options.clients, batch: options.batch, topic: 'bench/storm' });
    const opened = await load.next<Report<'storm-opened'> & OpenOutcome>('storm-opened', 30_000 + Math.ceil(options.clients / options.batch) * 20_000);
    if (opened.failed > 0) throw new Error(`${opened.failed} of ${options.clients} clients failed to connect: ${Object.keys(opened.errors).join('; ')}`);
    await sleep(1000); // sessions saved, nothing else going on
    load.send({ type: 'storm-killed' });
    const killedAt = performance.now();
    await server.kill();
    await server.restart();
    const downMs = performance.now() - killedAt;
    load.send({ type: 'storm-restarted', downMs, timeoutMs: options.timeoutMs });
    const { result } = await load.next<Report<'storm'>>('storm', options.timeoutMs + 30_000);
    return result;
  });
}

const tempFolders = new Set<string>();
const removeFolder = (folder: string): void => {
  rmSync(folder, { recursive: true, force: true });
  tempFolders.delete(folder);
};
// Also when the run is stopped (deadline, signal): no database is left behind in the temp folder.
process.on('exit', () => [...tempFolders].forEach(removeFolder));

/** Runs `work` with a fresh folder in the OS temp folder, removed (with everything in it) afterwards. */
export async function withTempFolder<T>(prefix: string, work: (folder: string) => Promise<T>): Promise<T> {
  const folder = mkdtempSync(join(tmpdir(), prefix));
  tempFolders.add(folder);
  try {
    return await work(folder);
  } finally {
    removeFolder(folder);
  }
}

/** Bytes of a SQLite database with its WAL (0 for what is missing). */
export function databaseBytes(file: string): number {
  let total = 0;
  for (const path of [file, `${file}-wal`, `${file}-shm`]) {
    try {
      total += statSync(path).size;
    } catch {
      // not there
    }
  }
  return total;
}

/**
 * Event-loop stalls of the SQLite store's long removals (bench/store/sqlite-stall.ts), in a
 * process of its own on the server's CPU, on a fresh database in a temp folder removed afterwards.
 */
export async function sqliteStall(setup: Setup, options: { rows: number; deleteChunk?: number | undefined }, budgetMs: number): Promise<SqliteStallResult> {
  return withTempFolder('holdfast-bench-stall-', async (folder) => {
    const args = ['--file', join(folder, 'stall.db'), '--rows', String(options.rows)];
    if (options.deleteChunk !== undefined) args.push('--delete-chunk', String(options.deleteChunk));
    const child = new Child('sqlite stall', 'bench/store/sqlite-stall.ts', { cwd: setup.root, nodeArgs: [], args, cpu: pinning?.server });
    try {
      const { result } = await child.next<{ result: SqliteStallResult }>('stall', budgetMs);
      return result;
    } finally {
      await child.finish(5000); // exited (or killed) before its folder goes
    }
  });
}
