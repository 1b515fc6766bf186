import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  cpuShare,
  type CpuSample,
  type MemorySample,
  type ServerReport,
  type SqliteStallResult,
  type ThroughputConfig,
  type ThroughputResult,
} from './ipc.js';
import { Child, pinning } from './spawn.js';
import { machineCores, systemSample, type SystemSample } from './system.js';

export interface Setup {
  root: string;
  /** Extra node flags of the server process (e.g. --cpu-prof), for the Holdfast throughput runs. */
  profileArgs: string[];
  fileLimit: number | undefined;
}

export interface ThroughputFigures extends ThroughputResult {
  /** Median of the windows' rates: the headline figure. */
  messagesPerSecond: number;
  /** Server process CPU use during the measured windows, 0..1 of one core. */
  serverCpu: number | undefined;
  /**
   * CPU used by everything else on the machine during the measured windows, in cores (whole
   * machine minus server and load): well above 0 means other work disturbed the figures.
   */
  otherCpu: number | undefined;
  /** Server memory after the run (after global.gc()): what the messages left behind. */
  serverMemoryAfter: MemorySample | undefined;
}

export interface MemoryFigures {
  requested: number;
  opened: number;
  failed: number;
  openMs: number;
  openErrors: Record<string, number>;
  before: MemorySample;
  after: MemorySample;
  connectionsSeenByServer: number;
  perConnection: { rss: number; heapUsed: number; external: number };
}


function server(setup: Setup, name: string, script: string, args: string[], extraNodeArgs: string[] = []): Child {
  return new Child(name, `bench/servers/${script}`, {
    cwd: setup.root,
    nodeArgs: ['--expose-gc', ...extraNodeArgs],
    args,
    cpu: pinning?.server,
    fileLimit: setup.fileLimit,
  });
}

function load(setup: Setup, name: string, script: string): Child {
  return new Child(name, `bench/load/${script}`, { cwd: setup.root, nodeArgs: [], cpu: pinning?.load, fileLimit: setup.fileLimit });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function stop(serverChild: Child, loadChild: Child | undefined): Promise<void> {
  loadChild?.send({ type: 'stop' });
  await loadChild?.finish(8000);
  serverChild.send({ type: 'stop' });
  await serverChild.finish(8000);
}

/** Tests 1 and 2: a closed loop of `inFlight` messages against one server process. */
export async function throughput(
  setup: Setup,
  label: string,
  servers: { script: string; args?: string[]; profile?: boolean },
  loadScript: string,
  config: Omit<ThroughputConfig, 'url'>,
): Promise<ThroughputFigures> {
  const serverChild = server(setup, `${label} server`, servers.script, servers.args ?? [], servers.profile === true ? setup.profileArgs : []);
  let loadChild: Child | undefined;
  try {
    const ready = await serverChild.next<Extract<ServerReport, { type: 'ready' }>>('ready', 30_000);
    loadChild = load(setup, `${label} load`, loadScript);
    // The load process marks the measured interval; the server's CPU time is sampled at both marks.
    const samples: Array<Promise<CpuSample>> = [];
    const machine: Array<SystemSample | undefined> = [];
    loadChild.onMessage((message) => {
      if (message.type !== 'mark') return;
      machine.push(systemSample());
      samples.push(serverChild.ask<Extract<ServerReport, { type: 'cpu' }>>({ type: 'cpu' }, 5000).then((answer) => answer.sample));
    });
    loadChild.send({ type: 'throughput', config: { ...config, url: ready.url } });
    const budget = config.warmupMs + config.windows * config.windowMs + 30_000;
    const { result } = await loadChild.next<{ result: ThroughputResult }>('throughput', budget);
    const [start, end] = await Promise.all(samples).catch(() => []);
    const serverCpu = start !== undefined && end !== undefined ? cpuShare(start, end) : undefined;
    const cores = machineCores(machine[0], machine[1]);
    const after = await serverChild
      .ask<Extract<ServerReport, { type: 'memory' }>>({ type: 'memory' }, 20_000)
      .then((answer) => answer.memory, () => undefined);
    return {
      ...result,
      messagesPerSecond: median(result.rates),
      serverCpu,
      serverMemoryAfter: after,
      otherCpu: cores === undefined || serverCpu === undefined ? undefined : Math.max(0, cores - serverCpu - result.loadCpu),
    };
  } finally {
    await stop(serverChild, loadChild);
  }
}

/** Test 3: server memory before and after `count` idle connections. */
export async function memory(
  setup: Setup,
  label: string,
  serverScript: string,
  loadScript: string,
  options: { count: number; batch: number; topic: string },
  serverArgs: string[] = [],
): Promise<MemoryFigures> {
  const serverChild = server(setup, `${label} server`, serverScript, serverArgs);
  let loadChild: Child | undefined;
  try {
    const ready = await serverChild.next<Extract<ServerReport, { type: 'ready' }>>('ready', 30_000);
    await sleep(500); // let start-up work finish before the baseline
    const before = await serverChild.ask<Extract<ServerReport, { type: 'memory' }>>({ type: 'memory' }, 20_000);
    loadChild = load(setup, `${label} load`, loadScript);
    loadChild.send({ type: 'open', url: ready.url, count: options.count, batch: options.batch, topic: options.topic });
    const budget = 30_000 + Math.ceil(options.count / options.batch) * 20_000;
    const opened = await loadChild.next<{ opened: number; failed: number; ms: number; errors: Record<string, number> }>('opened', budget);
    await sleep(1000); // batched session saves, acks and the sweeper settle
    const after = await serverChild.ask<Extract<ServerReport, { type: 'memory' }>>({ type: 'memory' }, 20_000);
    const per = (key: 'rss' | 'heapUsed' | 'external'): number =>
      opened.opened > 0 ? (after.memory[key] - before.memory[key]) / opened.opened : NaN;
    return {
      requested: options.count,
      opened: opened.opened,
      failed: opened.failed,
      openMs: opened.ms,
      openErrors: opened.errors,
      before: before.memory,
      after: after.memory,
      connectionsSeenByServer: after.connections,
      perConnection: { rss: per('rss'), heapUsed: per('heapUsed'), external: per('external') },
    };
  } finally {
    await stop(serverChild, loadChild);
  }
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
