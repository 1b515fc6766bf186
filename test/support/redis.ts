import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, connect } from 'node:net';
import { Redis } from 'ioredis';

/** The Redis the store tests use: REDIS_URL, or the local default. */
export const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

/**
 * Whether Redis answers at REDIS_URL. Without it the Redis tests are skipped with a message, except
 * on CI (CI=true), where they fail: CI starts Redis, so its absence there is a broken setup.
 */
export async function redisAvailable(): Promise<boolean> {
  const client = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null, connectTimeout: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/** A fresh key prefix: stores made with it share nothing with other tests. */
export const freshPrefix = (): string => `hf-test-${randomUUID()}`;

/** Deletes every key under `prefix` (tests clean up what they made in the shared Redis). */
export async function deleteKeys(url: string, prefix: string): Promise<number> {
  const client = new Redis(url, { maxRetriesPerRequest: 0 });
  try {
    let deleted = 0;
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await client.unlink(...keys);
    } while (cursor !== '0');
    return deleted;
  } finally {
    client.disconnect();
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * A redis-server of the test's own on a free port, without persistence, that the test may kill
 * and start again (the shared one at 6379 is never touched).
 */
export class OwnRedis {
  private process: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    private readonly extra: string[],
  ) {}

  /** `port`: a free one unless given (`restartablePort()` for a server that is killed and restarted). */
  static async start(extra: string[] = [], port?: number): Promise<OwnRedis> {
    const own = new OwnRedis(port ?? (await freePort()), extra);
    await own.restart();
    return own;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts the server (again), and waits until it accepts connections. */
  async restart(): Promise<void> {
    if (this.process !== undefined) throw new Error('redis-server is running');
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...this.extra], { stdio: 'ignore' });
    this.process = child;
    child.once('exit', () => {
      if (this.process === child) this.process = undefined;
    });
    const deadline = Date.now() + 5000;
    for (;;) {
      const open = await new Promise<boolean>((resolve) => {
        const socket = connect(this.port, '127.0.0.1', () => {
          socket.destroy();
          resolve(true);
        });
        socket.on('error', () => resolve(false));
      });
      if (open) return;
      if (Date.now() > deadline) throw new Error(`redis-server did not start on port ${this.port}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Freezes the server (SIGSTOP): its connections stay open and nothing answers, like a stalled replica. */
  pause(): void {
    this.process?.kill('SIGSTOP');
  }

  /** Lets a paused server run again (SIGCONT). */
  resume(): void {
    this.process?.kill('SIGCONT');
  }

  /** Kills the server at once (SIGKILL: nothing is saved, connections reset). */
  async kill(): Promise<void> {
    const child = this.process;
    if (child === undefined) return;
    this.process = undefined;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}

/**
 * A one-node Redis Cluster of the test's own: cluster mode on, every slot assigned to it. One node
 * answers every key, yet Redis still refuses a script or command whose keys span slots (CROSSSLOT),
 * which is what the key layout must never do.
 */
export async function startOneNodeCluster(configFile: string): Promise<OwnRedis> {
  const own = await OwnRedis.start(['--cluster-enabled', 'yes', '--cluster-config-file', configFile]);
  const client = new Redis(own.url, { maxRetriesPerRequest: 0 });
  try {
    await client.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
    for (let i = 0; i < 100; i++) {
      if (String(await client.call('CLUSTER', 'INFO')).includes('cluster_state:ok')) return own;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error('the one-node cluster did not become ok');
  } finally {
    client.disconnect();
  }
}

/**
 * A Redis Cluster of the test's own with `shards` primaries (no replicas), the 16384 slots split
 * evenly between them: commands really are routed by slot, redirected (MOVED) when a client's map
 * is stale, and pub/sub crosses nodes. Config files go in `dir`.
 */
export async function startCluster(shards: number, dir: string): Promise<OwnRedis[]> {
  const nodes: OwnRedis[] = [];
  for (let i = 0; i < shards; i++) {
    nodes.push(await OwnRedis.start(['--cluster-enabled', 'yes', '--cluster-config-file', `${dir}/node-${i}.conf`, '--cluster-node-timeout', '5000']));
  }
  const clients = nodes.map((node) => new Redis(node.url, { maxRetriesPerRequest: 0 }));
  try {
    const per = Math.ceil(16384 / shards);
    await Promise.all(
      clients.map((client, i) => client.call('CLUSTER', 'ADDSLOTSRANGE', String(i * per), String(Math.min(16383, (i + 1) * per - 1)))),
    );
    for (const node of nodes.slice(1)) await clients[0]!.call('CLUSTER', 'MEET', '127.0.0.1', String(node.port));
    for (let i = 0; i < 200; i++) {
      const infos = await Promise.all(clients.map((client) => client.call('CLUSTER', 'INFO') as Promise<string>));
      if (infos.every((info) => info.includes('cluster_state:ok') && info.includes(`cluster_known_nodes:${shards}`))) return nodes;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`the ${shards}-node cluster did not become ok`);
  } finally {
    for (const client of clients) client.disconnect();
  }
}

/**
 * Whether tests can start a redis-server of their own. Without one they are skipped with a message,
 * except on CI (CI=true), where that throws: .ci/run installs it.
 */
export function ownRedisPossible(what: string): boolean {
  const found = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
  if (!found && process.env['CI'] === 'true') throw new Error(`${what}: redis-server is not installed, and CI must run these tests (.ci/run installs it)`);
  if (!found) console.log(`${what}: skipped, redis-server is not installed`);
  return found;
}
