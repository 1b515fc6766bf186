import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { restartablePort } from '../../test/support/child-process.js';
import { Nginx } from '../../test/support/nginx.js';
import { OwnRedis } from '../../test/support/redis.js';
import { accepts, gone, killNow, sleep, spawnNode } from './processes.js';

/** The built CLI: the nodes run what `npm run build` wrote, as a deployment would. */
const MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

interface Node {
  port: number;
  child: ChildProcess | undefined;
  /** Bumped by every kill and start: a start loop of an older generation gives up. */
  generation: number;
}

/**
 * What the chaos run breaks: a redis-server of its own that fsyncs every write to an AOF in the
 * logs folder (`redis/`), N `holdfast serve --redis` nodes on fixed ports (a restarted node comes back on its
 * port), and nginx in front of them, round robin without stickiness.
 */
export class Deployment {
  private readonly nodes: Node[];
  private stopped = false;
  /** Processes that exited without being killed: the run reports them. */
  readonly surprises: string[] = [];

  private constructor(
    readonly redis: OwnRedis,
    ports: number[],
    private readonly prefix: string,
    private readonly logDir: string,
    readonly nginx: Nginx,
  ) {
    this.nodes = ports.map((port) => ({ port, child: undefined, generation: 0 }));
  }

  static async start(nodeCount: number, logDir: string, track: (cleanup: () => Promise<void>) => void): Promise<Deployment> {
    // In the logs folder: a failed run keeps Redis's AOF with the logs, to look at what was stored.
    const redisDir = join(logDir, 'redis');
    mkdirSync(redisDir);
    // Every write fsynced before Redis answers: no acknowledged message may be lost to its SIGKILL.
    // Ports below the ephemeral range: a killed process must find its port free when it restarts.
    const redis = await OwnRedis.start(['--appendonly', 'yes', '--appendfsync', 'always', '--dir', redisDir], await restartablePort());
    track(() => redis.kill());
    const ports: number[] = [];
    while (ports.length < nodeCount) {
      const port = await restartablePort();
      if (port !== redis.port && !ports.includes(port)) ports.push(port);
    }
    const nginx = await Nginx.start(ports);
    track(() => nginx.stop());
    const deployment = new Deployment(redis, ports, basename(logDir), logDir, nginx);
    track(() => deployment.stop());
    await Promise.all(ports.map((_, i) => deployment.startNode(i)));
    return deployment;
  }

  /** Starts node `i` and waits until it listens; a start that fails (Redis down) is tried again. */
  async startNode(i: number): Promise<void> {
    const node = this.nodes[i]!;
    const generation = ++node.generation;
    while (!this.stopped && node.generation === generation) {
      const child = spawnNode(
        [
          MAIN, 'serve', '--redis', this.redis.url, '--redis-prefix', this.prefix, '--port', String(node.port), '--no-prices',
          '--max-connections-per-address', '0', '--heartbeat-interval', '1000', '--heartbeat-timeout', '3000',
        ],
        join(this.logDir, `node-${i}.out`),
      );
      node.child = child;
      let listening = false;
      child.once('exit', (code, signal) => {
        // A node that dies on its own once serving (not by our SIGKILL, not while we stop) is a
        // finding; one that cannot start (Redis down too long) is started again below.
        if (listening && signal !== 'SIGKILL' && !this.stopped) this.surprises.push(`node ${i} (pid ${child.pid}) exited by itself: code ${code} signal ${signal}; see node-${i}.out`);
      });
      const deadline = Date.now() + 20_000;
      while (!gone(child) && Date.now() < deadline && node.generation === generation && !(await accepts(node.port))) await sleep(50);
      if (node.generation !== generation) return;
      if (!gone(child) && (await accepts(node.port))) {
        listening = true;
        return;
      }
      await killNow(child);
      await sleep(300);
    }
  }

  /** SIGKILLs node `i`, keeps it down `downMs`, and starts it again on its port. */
  async killNode(i: number, downMs: number): Promise<void> {
    const node = this.nodes[i]!;
    node.generation++;
    const child = node.child;
    node.child = undefined;
    await killNow(child);
    await sleep(downMs);
    if (!this.stopped) await this.startNode(i);
  }

  /** SIGKILLs Redis, keeps it down `downMs`, and starts it again on the same data. */
  async killRedis(downMs: number): Promise<void> {
    await this.redis.kill();
    await sleep(downMs);
    if (!this.stopped) await this.redis.restart();
  }

  /** Starts every node that is not running (after the faults stopped). */
  async ensureUp(): Promise<void> {
    await Promise.all(this.nodes.map((node, i) => (gone(node.child) ? this.startNode(i) : undefined)));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const node of this.nodes) node.generation++;
    await Promise.all(this.nodes.map((node) => killNow(node.child)));
  }
}
