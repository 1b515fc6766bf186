/**
 * The server under test, as the orchestrator holds it: a Node child (bench/servers/*) that
 * reports over IPC, or a private Mosquitto broker read through /proc. Either can be killed
 * (SIGKILL) and started again on the same port with the same files, for the storm. holdfastRedis
 * is a Node child with a private redis-server next to it (RedisBacked).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CpuSample, MemorySample, ServerReport } from './ipc.js';
import type { SystemId } from './results.js';
import { Child, pinning, registerProcess } from './spawn.js';

export interface ServerHandle {
  readonly url: string;
  readonly pid: number;
  /** CPU time used so far (µs) and when (ms), for shares over an interval. */
  cpu(): Promise<CpuSample | undefined>;
  /** Settled memory; Node servers collect garbage first. */
  memory(): Promise<MemorySample | undefined>;
  /** SIGKILL, and wait until the process is gone. */
  kill(): Promise<void>;
  /** Starts a new process on the same port and files; resolves once it accepts connections. */
  restart(): Promise<void>;
  stop(): Promise<void>;
  /** Whether `memory()` includes a JS heap (false for Mosquitto: RSS only). */
  readonly hasHeap: boolean;
}

export interface ServerSetup {
  root: string;
  /** Extra node flags for Node servers (e.g. --cpu-prof). */
  nodeArgs: string[];
  fileLimit: number | undefined;
  /** A folder for files of this server (SQLite database, Mosquitto config, Redis AOF), removed by the caller. */
  folder: string;
  /** holdfastRedis: the durability of its private redis-server. @default 'everysec' */
  redisFsync?: RedisFsync | undefined;
}

export const REDIS_FSYNC = ['no', 'everysec', 'always'] as const;
export type RedisFsync = (typeof REDIS_FSYNC)[number];

/**
 * redis-server's persistence flags per --redis-fsync. RDB snapshots are off in all three, so that
 * a background save (a fork) does not land in one run's windows and not another's: only the AOF
 * differs. AOF rewrites keep Redis's defaults (they happen in a real deployment too).
 */
export function redisPersistence(fsync: RedisFsync): string[] {
  return fsync === 'no' ? ['--appendonly', 'no', '--save', ''] : ['--appendonly', 'yes', '--appendfsync', fsync, '--save', ''];
}

const SCRIPTS: Record<Exclude<SystemId, 'mqtt' | 'holdfastRedis'>, { script: string; args: (folder: string) => string[] }> = {
  ws: { script: 'ws-echo.ts', args: () => [] },
  socketio: { script: 'socketio.ts', args: () => [] },
  socketioRecovery: { script: 'socketio.ts', args: () => ['--recovery'] },
  // The per-connection frame rate limit (10,000/s by default) would cap one publishing client: it
  // is lifted, as a server expecting such clients would configure it.
  holdfastVolatile: { script: 'holdfast.ts', args: () => ['--mode=volatile', '--no-rate-limit'] },
  holdfastMemory: { script: 'holdfast.ts', args: () => ['--no-rate-limit'] },
  holdfastSqlite: { script: 'holdfast.ts', args: (folder) => ['--no-rate-limit', `--sqlite=${join(folder, 'holdfast.db')}`] },
};

export async function startServer(system: SystemId, setup: ServerSetup, extraArgs: string[] = []): Promise<ServerHandle> {
  if (system === 'mqtt') return Mosquitto.start(setup);
  if (system === 'holdfastRedis') return RedisBacked.start(setup, extraArgs);
  const { script, args } = SCRIPTS[system];
  return NodeServer.start(system, setup, script, [...args(setup.folder), ...extraArgs]);
}

/**
 * A Node server under test from bench/servers/<script>, pinned to the server's CPU: the cluster
 * bench (bench/lib/cluster.ts) starts several of them on one Redis.
 */
export function startNodeServer(name: string, setup: ServerSetup, script: string, args: string[]): Promise<ServerHandle> {
  return NodeServer.start(name, setup, script, args);
}

class NodeServer implements ServerHandle {
  readonly hasHeap = true;
  private constructor(
    private child: Child,
    readonly url: string,
    readonly pid: number,
    private readonly port: number,
    private readonly spawnAt: (port: number) => Child,
  ) {}

  static async start(name: string, setup: ServerSetup, script: string, args: string[]): Promise<NodeServer> {
    const spawnAt = (port: number): Child =>
      new Child(`${name} server`, `bench/servers/${script}`, {
        cwd: setup.root,
        nodeArgs: ['--expose-gc', ...setup.nodeArgs],
        args: [...args, `--port=${port}`],
        cpu: pinning?.server,
        fileLimit: setup.fileLimit,
      });
    const child = spawnAt(0);
    const ready = await child.next<Extract<ServerReport, { type: 'ready' }>>('ready', 30_000);
    return new NodeServer(child, ready.url, ready.pid, Number(new URL(ready.url).port), spawnAt);
  }

  async cpu(): Promise<CpuSample | undefined> {
    return this.child.ask<Extract<ServerReport, { type: 'cpu' }>>({ type: 'cpu' }, 5000).then((answer) => answer.sample, () => undefined);
  }

  async memory(): Promise<MemorySample | undefined> {
    return this.child.ask<Extract<ServerReport, { type: 'memory' }>>({ type: 'memory' }, 20_000).then((answer) => answer.memory, () => undefined);
  }

  async kill(): Promise<void> {
    this.child.kill();
    await this.child.exited;
  }

  async restart(): Promise<void> {
    this.child = this.spawnAt(this.port);
    await this.child.next('ready', 30_000);
  }

  async stop(): Promise<void> {
    this.child.send({ type: 'stop' });
    await this.child.finish(8000);
  }
}

/** Microseconds per clock tick of /proc/<pid>/stat. */
const TICK_US = (() => {
  try {
    return 1e6 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
  } catch {
    return 1e4;
  }
})();

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ port, host: '127.0.0.1' }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (performance.now() > deadline) throw new Error(`nothing listens on port ${port} after ${timeoutMs} ms`);
    await sleep(10);
  }
}

/** Fields of /proc/<pid>/stat after the command name; undefined once the process is gone. */
function procStat(pid: number): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** CPU time (µs) the process used so far. */
export function procCpu(pid: number): number | undefined {
  const fields = procStat(pid);
  // After the command name: field 14 (utime) and 15 (stime) of proc(5) are at 11 and 12 here.
  return fields === undefined ? undefined : (Number(fields[11]) + Number(fields[12])) * TICK_US;
}

/** Resident set size in bytes. */
function procRss(pid: number): number | undefined {
  try {
    const kib = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
    return Number.isFinite(kib) ? kib * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Where Debian's mosquitto package puts the broker; undefined when it is not installed. */
export function mosquittoBinary(): string | undefined {
  for (const path of ['/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto', '/usr/local/bin/mosquitto']) {
    try {
      execFileSync(path, ['-h'], { stdio: 'ignore' });
      return path;
    } catch (error) {
      // `mosquitto -h` exits with 3 after printing its help: it exists.
      if ((error as { status?: number }).status === 3) return path;
    }
  }
  return undefined;
}

/**
 * A private Mosquitto broker on a free port, pinned to the server's core like every other server
 * under test, so that it is measured on equal terms and can be killed without touching the
 * machine's shared broker. Queued messages per offline client are raised from 1,000 to 1,000,000
 * so that the catch-up workload measures delivery, not the queue's default cap.
 */
class Mosquitto implements ServerHandle {
  readonly hasHeap = false;
  private process: ChildProcess;
  private exited: Promise<void>;

  private constructor(
    private readonly command: string[],
    readonly url: string,
    private readonly port: number,
  ) {
    ({ process: this.process, exited: this.exited } = this.spawn());
  }

  get pid(): number {
    return this.process.pid ?? -1;
  }

  static async start(setup: ServerSetup): Promise<Mosquitto> {
    const binary = mosquittoBinary();
    if (binary === undefined) throw new Error('mosquitto is not installed (Debian: apt-get install -y mosquitto)');
    const port = await freePort();
    const config = join(setup.folder, 'mosquitto.conf');
    writeFileSync(
      config,
      [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'max_queued_messages 1000000', 'log_dest stderr', 'log_type error', ''].join('\n'),
    );
    let command = [binary, '-c', config];
    if (setup.fileLimit !== undefined) command = ['sh', '-c', `ulimit -n ${setup.fileLimit} && exec "$@"`, 'sh', ...command];
    if (pinning !== undefined) command = ['taskset', '-c', String(pinning.server), ...command];
    const broker = new Mosquitto(command, `mqtt://127.0.0.1:${port}`, port);
    await waitForPort(port, 10_000);
    return broker;
  }

  private spawn(): { process: ChildProcess; exited: Promise<void> } {
    const [file, ...args] = this.command as [string, ...string[]];
    const child = spawn(file, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    registerProcess(child);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    return { process: child, exited };
  }

  async cpu(): Promise<CpuSample | undefined> {
    // The broker itself: with taskset/sh in front, the process that exec'd into mosquitto keeps our child's pid.
    const cpu = procCpu(this.pid);
    return cpu === undefined ? undefined : { cpu, at: performance.now() };
  }

  async memory(): Promise<MemorySample | undefined> {
    await sleep(200); // as the Node servers' settledMemory: let the last work finish
    const rss = procRss(this.pid);
    return rss === undefined ? undefined : { rss, heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0 };
  }

  async kill(): Promise<void> {
    this.process.kill('SIGKILL');
    await this.exited;
  }

  async restart(): Promise<void> {
    ({ process: this.process, exited: this.exited } = this.spawn());
    await waitForPort(this.port, 10_000);
  }

  async stop(): Promise<void> {
    this.process.kill('SIGTERM');
    const late = sleep(5000).then(() => 'late');
    if ((await Promise.race([this.exited.then(() => 'done'), late])) === 'late') await this.kill();
  }
}

/** Where Debian's redis-server package puts it; undefined when it is not installed. */
export function redisServerBinary(): string | undefined {
  for (const path of ['/usr/bin/redis-server', '/usr/local/bin/redis-server', '/usr/sbin/redis-server']) {
    try {
      execFileSync(path, ['--version'], { stdio: 'ignore' });
      return path;
    } catch {
      // not there
    }
  }
  return undefined;
}

/** `redis-server --version` prints "Redis server v=7.0.15 sha=…". */
export function redisServerVersion(): string {
  const binary = redisServerBinary();
  if (binary === undefined) return 'not installed';
  try {
    return /v=(\S+)/.exec(execFileSync(binary, ['--version'], { encoding: 'utf8' }))?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * holdfastRedis: a private redis-server on a free port, its files (the AOF) in the system's temp
 * folder, pinned to the server's CPU like Mosquitto, so the store's work is server-side work as
 * SQLite's is (in-process); then the Holdfast server on it, with a fresh key prefix. cpu() and
 * memory() add Redis's process to the Node server's. kill() and restart() (the storm) touch only
 * the Node server: Redis keeps the sessions, as for a restarted node. Redis stops after the server.
 */
class RedisBacked implements ServerHandle {
  readonly hasHeap = true;

  private constructor(
    private readonly node: NodeServer,
    private readonly redis: PrivateRedis,
  ) {}

  get url(): string {
    return this.node.url;
  }

  get pid(): number {
    return this.node.pid;
  }

  static async start(setup: ServerSetup, extraArgs: string[]): Promise<RedisBacked> {
    const redis = await PrivateRedis.start(setup);
    try {
      const prefix = `bench-${randomBytes(6).toString('hex')}`;
      const serverArgs = ['--no-rate-limit', `--redis=${redis.url}`, `--redis-prefix=${prefix}`, ...extraArgs];
      const node = await NodeServer.start('holdfastRedis', setup, 'holdfast.ts', serverArgs);
      return new RedisBacked(node, redis);
    } catch (error) {
      await redis.stop();
      throw error;
    }
  }

  async cpu(): Promise<CpuSample | undefined> {
    const [sample, redis] = [await this.node.cpu(), this.redis.cpu()];
    return sample === undefined || redis === undefined ? undefined : { cpu: sample.cpu + redis, at: sample.at };
  }

  async memory(): Promise<MemorySample | undefined> {
    const [sample, redis] = [await this.node.memory(), procRss(this.redis.pid)];
    return sample === undefined || redis === undefined ? undefined : { ...sample, rss: sample.rss + redis };
  }

  kill(): Promise<void> {
    return this.node.kill();
  }

  restart(): Promise<void> {
    return this.node.restart();
  }

  async stop(): Promise<void> {
    try {
      await this.node.stop();
    } finally {
      await this.redis.stop();
    }
  }
}

/**
 * A private redis-server on a free port, its files (the AOF) in the setup's folder, pinned to the
 * server's CPU, with the persistence of --redis-fsync: the Redis store's measurements and the
 * cluster bench's nodes (all systems on the same kind of Redis) use one each.
 */
export class PrivateRedis {
  private constructor(
    private readonly process: ChildProcess,
    private readonly exited: Promise<void>,
    readonly url: string,
  ) {}

  get pid(): number {
    return this.process.pid ?? -1;
  }

  static async start(setup: Pick<ServerSetup, 'folder' | 'redisFsync'>): Promise<PrivateRedis> {
    const binary = redisServerBinary();
    if (binary === undefined) throw new Error('redis-server is not installed (Debian: apt-get install -y redis-server)');
    const port = await freePort();
    let command = [
      binary,
      ...['--port', String(port), '--bind', '127.0.0.1', '--dir', setup.folder, '--daemonize', 'no', '--loglevel', 'warning'],
      ...redisPersistence(setup.redisFsync ?? 'everysec'),
    ];
    if (pinning !== undefined) command = ['taskset', '-c', String(pinning.server), ...command];
    const [file, ...args] = command as [string, ...string[]];
    const child = spawn(file, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    registerProcess(child);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const redis = new PrivateRedis(child, exited, `redis://127.0.0.1:${port}`);
    try {
      await waitForPort(port, 10_000);
    } catch (error) {
      await redis.stop();
      throw error;
    }
    return redis;
  }

  /** CPU time (µs) redis-server used so far. */
  cpu(): number | undefined {
    return procCpu(this.pid);
  }

  /** SIGTERM, then SIGKILL after 5 s. */
  async stop(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    this.process.kill('SIGTERM');
    const late = sleep(5000).then(() => 'late');
    if ((await Promise.race([this.exited.then(() => 'done'), late])) === 'late') {
      this.process.kill('SIGKILL');
      await this.exited;
    }
  }
}
