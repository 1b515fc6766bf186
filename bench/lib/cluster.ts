/**
 * The cluster workloads of issue 12: each system on one private redis-server (the same
 * persistence for all, --redis-fsync) with one or two server processes ("nodes") on it.
 *
 *   socketioRedis    Socket.IO 4 + @socket.io/redis-adapter (Redis pub/sub; no recovery)
 *   socketioStreams  Socket.IO 4 + @socket.io/redis-streams-adapter, connection state recovery on
 *   holdfastRedis    HoldfastServer, reliable topics, RedisStore (one key prefix for both nodes)
 *
 * As the other scenarios (bench/lib/scenarios.ts): fresh Redis, nodes and load processes for each
 * measurement, every server-side process (Redis, the nodes, nginx) pinned to the server's CPU and
 * the load to the other, and everything stopped afterwards, whatever happens. On two cores both
 * nodes share one core: two nodes measure what the coordination through Redis costs, not scaling.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FailoverShare } from '../load/failover.js';
import { wallNow } from '../load/failover.js';
import type { FanoutConfig, LatencyConfig } from '../load/workloads.js';
import { cpuShare, type CpuSample, type LoadReport, type OpenOutcome, type ThroughputConfig } from './ipc.js';
import { FailoverBalancer } from './nginx.js';
import type { ClusterSystemId, ClusterThroughputFigures, FailoverFigures, FanoutFigures, LatencyFigures } from './results.js';
import type { Setup } from './scenarios.js';
import { withTempFolder } from './scenarios.js';
import { PrivateRedis, startNodeServer, type ServerHandle } from './servers.js';
import { Child, pinning } from './spawn.js';
import { machineCores, systemSample, type SystemSample } from './system.js';

type Report<T extends LoadReport['type']> = Extract<LoadReport, { type: T }>;

interface Cluster {
  redis: PrivateRedis;
  /** Node A first. */
  nodes: ServerHandle[];
  /** Load processes, started meanwhile. */
  loads: Child[];
}

/** The node script and its arguments, per system, on the Redis at `url`. */
function nodeCommand(system: ClusterSystemId, url: string, prefix: string): { script: string; args: string[] } {
  switch (system) {
    case 'socketioRedis':
      return { script: 'socketio.ts', args: [`--redis=${url}`, '--adapter=pubsub'] };
    case 'socketioStreams':
      return { script: 'socketio.ts', args: [`--redis=${url}`, '--adapter=streams', '--recovery'] };
    case 'holdfastRedis':
      // One deployment: both nodes on one key prefix. The keys stay when a node stops (the other may
      // still run); the private Redis goes with its temp folder.
      return { script: 'holdfast.ts', args: ['--no-rate-limit', `--redis=${url}`, `--redis-prefix=${prefix}`, '--redis-keep'] };
  }
}

async function withCluster<T>(setup: Setup, system: ClusterSystemId, nodeCount: number, loadCount: number, work: (cluster: Cluster, folder: string) => Promise<T>): Promise<T> {
  return withTempFolder(`holdfast-cluster-${system}-`, async (folder) => {
    const loads = Array.from(
      { length: loadCount },
      (_, i) =>
        new Child(`${system} load ${i + 1}`, 'bench/load/main.ts', {
          cwd: setup.root,
          nodeArgs: [],
          args: [`--system=${system}`],
          cpu: pinning?.load,
          fileLimit: setup.fileLimit,
        }),
    );
    let redis: PrivateRedis | undefined;
    const nodes: ServerHandle[] = [];
    try {
      redis = await PrivateRedis.start({ folder, redisFsync: setup.redisFsync });
      const { script, args } = nodeCommand(system, redis.url, `bench-${randomBytes(6).toString('hex')}`);
      const serverSetup = {
        root: setup.root,
        nodeArgs: system === 'holdfastRedis' ? setup.profileArgs : [],
        fileLimit: setup.fileLimit,
        folder,
        redisFsync: setup.redisFsync,
      };
      const started = await Promise.allSettled(Array.from({ length: nodeCount }, (_, i) => startNodeServer(`${system} node ${'AB'[i]}`, serverSetup, script, args)));
      for (const outcome of started) if (outcome.status === 'fulfilled') nodes.push(outcome.value);
      const failed = started.find((outcome) => outcome.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
      return await work({ redis, nodes, loads }, folder);
    } finally {
      for (const load of loads) load.send({ type: 'stop' });
      await Promise.allSettled([...loads.map((load) => load.finish(8000)), ...nodes.map((node) => node.stop())]);
      await redis?.stop();
    }
  });
}

/** CPU of every server-side process (nodes and Redis), in cores, between the load's two marks. */
function sampleAtMarks(cluster: Cluster): () => Promise<{ serverCpu: number | undefined; machineCores: number | undefined }> {
  const samples: Array<Promise<{ nodes: Array<CpuSample | undefined>; redis: CpuSample | undefined }>> = [];
  const machine: Array<SystemSample | undefined> = [];
  cluster.loads[0]!.onMessage((message) => {
    if (message.type !== 'mark') return;
    machine.push(systemSample());
    const redisCpu = cluster.redis.cpu();
    const redis = redisCpu === undefined ? undefined : { cpu: redisCpu, at: performance.now() };
    samples.push(Promise.all(cluster.nodes.map((node) => node.cpu())).then((nodes) => ({ nodes, redis })));
  });
  return async () => {
    const [start, end] = await Promise.all(samples);
    let serverCpu: number | undefined;
    if (start !== undefined && end !== undefined && start.redis !== undefined && end.redis !== undefined) {
      serverCpu = cpuShare(start.redis, end.redis);
      for (let i = 0; i < start.nodes.length; i++) {
        const [from, to] = [start.nodes[i], end.nodes[i]];
        serverCpu = from === undefined || to === undefined || serverCpu === undefined ? undefined : serverCpu + cpuShare(from, to);
      }
    }
    return { serverCpu, machineCores: machineCores(machine[0], machine[1]) };
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Cluster workload 1: a closed loop of `inFlight` publishes per node, one client on each node. */
export async function clusterThroughput(setup: Setup, system: ClusterSystemId, nodes: number, config: Omit<ThroughputConfig, 'url'>): Promise<ClusterThroughputFigures> {
  return withCluster(setup, system, nodes, 1, async (cluster) => {
    const load = cluster.loads[0]!;
    const cpu = sampleAtMarks(cluster);
    const urls = cluster.nodes.map((node) => node.url);
    load.send({ type: 'throughput', config: { ...config, url: urls[0]! }, topic: 'bench/throughput', urls });
    const budget = config.warmupMs + config.windows * config.windowMs + 30_000;
    const { result } = await load.next<Report<'throughput'>>('throughput', budget);
    const { serverCpu, machineCores } = await cpu();
    return {
      ...result,
      nodes,
      messagesPerSecond: median(result.rates),
      serverCpu,
      otherCpu: machineCores === undefined || serverCpu === undefined ? undefined : Math.max(0, machineCores - serverCpu - result.loadCpu),
    };
  });
}

/** Cluster workload 2: the publisher on node A, the subscribers spread over both nodes. */
export async function clusterFanout(setup: Setup, system: ClusterSystemId, config: Omit<FanoutConfig, 'url' | 'subscriberUrls'>): Promise<FanoutFigures> {
  return withCluster(setup, system, 2, 1, async (cluster) => {
    const load = cluster.loads[0]!;
    const cpu = sampleAtMarks(cluster);
    const urls = cluster.nodes.map((node) => node.url);
    load.send({ type: 'fanout', config: { ...config, url: urls[0]!, subscriberUrls: urls } });
    const budget = 60_000 + config.subscribers * 50 + config.warmupMs + config.windowMs;
    const { result } = await load.next<Report<'fanout'>>('fanout', budget);
    return { ...result, serverCpu: (await cpu()).serverCpu };
  });
}

/** Cluster workload 3: publisher on node A; the subscriber on node A (one node) or on node B (cross-node). */
export async function clusterLatency(setup: Setup, system: ClusterSystemId, crossNode: boolean, config: Omit<LatencyConfig, 'url' | 'subscriberUrl'>): Promise<LatencyFigures> {
  return withCluster(setup, system, crossNode ? 2 : 1, 1, async (cluster) => {
    const load = cluster.loads[0]!;
    const [a, b] = cluster.nodes;
    load.send({ type: 'latency', config: { ...config, url: a!.url, ...(b === undefined ? {} : { subscriberUrl: b.url }) } });
    const { result } = await load.next<Report<'latency'>>('latency', 40_000 + config.warmupMs + config.durationMs);
    return result;
  });
}

export interface FailoverConfig {
  clients: number;
  /** Clients per load process at most (each is an open file there, and CPU). */
  perLoad: number;
  batch: number;
  ratePerSecond: number;
  payloadBytes: number;
  /** Publishing before the kill, ms. */
  warmupMs: number;
  /** How long to wait after the kill for every client to be back and caught up, ms. */
  timeoutMs: number;
}

const FAILOVER_TOPIC = 'bench/failover';

/**
 * Cluster workload 4: `clients` clients connected through nginx to node B (nginx's primary; node A
 * is its backup), a publisher connected to node A publishing numbered messages at a fixed rate.
 * Node B is SIGKILLed; the clients reconnect through the same nginx URL, which now reaches A. From
 * the kill: until every client is connected again, receiving, and has every message without a
 * gap; then what never arrived and what arrived twice.
 */
export async function failover(setup: Setup, system: ClusterSystemId, config: FailoverConfig): Promise<FailoverFigures> {
  const clientLoads = Math.max(1, Math.ceil(config.clients / config.perLoad));
  // The first load process publishes; the others hold the clients.
  return withCluster(setup, system, 2, 1 + clientLoads, async (cluster, folder) => {
    const [a, b] = cluster.nodes as [ServerHandle, ServerHandle];
    const [publisher, ...holders] = cluster.loads as [Child, ...Child[]];
    const port = (url: string): number => Number(new URL(url).port);
    const balancer = await FailoverBalancer.start(folder, port(b.url), port(a.url));
    try {
      const through = new URL(b.url);
      through.port = String(balancer.port);
      const url = through.toString().replace(/\/$/, '');
      const capacity = Math.ceil((config.ratePerSecond * (config.warmupMs + config.timeoutMs + 30_000)) / 1000);
      const errors: Record<string, number> = {};
      const add = (from: Record<string, number>): void => {
        for (const [key, count] of Object.entries(from)) errors[key] = (errors[key] ?? 0) + count;
      };

      const shares = holders.map((_, i) => Math.floor(config.clients / holders.length) + (i < config.clients % holders.length ? 1 : 0));
      const openBudget = 30_000 + Math.ceil(config.clients / config.batch) * 20_000;
      const opened = await Promise.all(
        holders.map((load, i) => {
          const answer = load.next<Report<'failover-opened'> & OpenOutcome>('failover-opened', openBudget);
          load.send({ type: 'failover-open', url, count: shares[i]!, batch: config.batch, topic: FAILOVER_TOPIC, capacity });
          return answer;
        }),
      );
      const failed = opened.reduce((sum, outcome) => sum + outcome.failed, 0);
      if (failed > 0) throw new Error(`${failed} of ${config.clients} clients failed to connect: ${Object.keys(opened[0]?.errors ?? {}).join('; ')}`);
      const openMs = Math.max(...opened.map((outcome) => outcome.ms));

      await publisher.ask({ type: 'failover-publish', url: a.url, topic: FAILOVER_TOPIC, ratePerSecond: config.ratePerSecond, payloadBytes: config.payloadBytes, capacity } as { type: string }, 30_000);
      await sleep(config.warmupMs);

      const killedAt = wallNow();
      for (const load of holders) load.send({ type: 'failover-killed', at: killedAt });
      await b.kill();
      await Promise.all(holders.map((load) => load.ask({ type: 'failover-settle', timeoutMs: config.timeoutMs } as { type: string }, config.timeoutMs + 15_000)));

      const stopped = await publisher.ask<Report<'failover-publish-stop'>>({ type: 'failover-publish-stop', graceMs: 5000 } as { type: string }, 15_000);
      add(stopped.errors);
      const tallied = await Promise.all(
        holders.map((load) =>
          load.ask<Report<'failover-tally'>>(
            { type: 'failover-tally', published: stopped.published, unacknowledged: stopped.unacknowledged, graceMs: 2000 } as { type: string },
            30_000,
          ),
        ),
      );
      const parts: FailoverShare[] = tallied.map((answer) => answer.share);
      const sum = (pick: (share: FailoverShare) => number): number => parts.reduce((total, share) => total + pick(share), 0);
      const latest = (pick: (share: FailoverShare) => number | null): number => {
        // A share with no client on the killed node does not count; any other without a time makes it NaN.
        const relevant = parts.filter((share) => share.onKilledNode > 0).map(pick);
        if (relevant.length === 0 || relevant.some((at) => at === null)) return NaN;
        return Math.max(...(relevant as number[])) - killedAt;
      };
      for (const share of parts) add(share.errors);
      return {
        clients: config.clients,
        loadProcesses: holders.length,
        ratePerSecond: config.ratePerSecond,
        route: 'nginx in front of both nodes, node B its primary and node A its backup: one URL for every client, before and after the kill; the publisher on node A directly',
        onKilledNode: sum((share) => share.onKilledNode),
        reconnected: sum((share) => share.reconnected),
        recovered: sum((share) => share.recovered),
        allReconnectedMs: latest((share) => share.lastReconnectAt),
        allReceivingMs: latest((share) => share.lastReceivingAt),
        allCompleteMs: latest((share) => share.lastCompleteAt),
        completeP50Ms: median(parts.flatMap((share) => share.completeMs)),
        reconnectP50Ms: median(parts.flatMap((share) => share.reconnectMs)),
        attempts: sum((share) => share.attempts),
        complete: sum((share) => share.complete),
        published: stopped.published,
        acknowledged: stopped.acknowledged,
        lost: sum((share) => share.lost),
        clientsWithLosses: sum((share) => share.clientsWithLosses),
        duplicates: sum((share) => share.duplicates),
        openMs,
        errors,
      };
    } finally {
      await balancer.stop();
    }
  });
}
