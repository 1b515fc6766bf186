/**
 * `npm run bench -- --only=… --merge` (bench/lib/merge.ts): the workloads not run this time keep
 * the previous run's figures, and the ones run now are never overwritten by old ones.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { emptyHostileResults } from '../../bench/hostile/run.js';
import { carryOver } from '../../bench/lib/merge.js';
import type { BenchResults } from '../../bench/lib/results.js';

function previousRun(): BenchResults {
  return {
    date: '2026-12-01T15:06:39.790Z',
    quick: false,
    partial: false,
    command: 'npm run bench',
    node: 'v20',
    v8: '11',
    platform: 'linux x64',
    cpuModel: 'test',
    cpuCount: 2,
    pinning: 'none',
    loadAverageAtStart: [0],
    loadAverageAtEnd: [0],
    durationSeconds: 400,
    versions: {},
    sizes: { payloadBytes: 100, inFlight: 100, warmupMs: 1, windowMs: 1, windows: 1, subscribers: 1, latencyRate: 1, latencyMs: 1, idleConnections: 1, catchupMessages: 1, stormClients: 1 },
    notes: [],
    workloads: {
      throughput: { ws: { error: 'old throughput' } },
      fanout: { ws: { error: 'old fanout' } },
      latency: {},
      memory: { ws: { error: 'old memory' } },
      catchup: {},
      storm: {},
    },
    targets: [],
    sqliteStall: { error: 'old stall' },
    hostile: emptyHostileResults(),
  };
}

test('carryOver keeps what was not run now, with its name for the notes', () => {
  const carried = carryOver(previousRun(), (name) => name === 'hostile');
  assert.deepEqual(carried.workloads.throughput, { ws: { error: 'old throughput' } });
  assert.deepEqual(carried.workloads.memory, { ws: { error: 'old memory' } });
  assert.deepEqual(carried.sqliteStall, { error: 'old stall' });
  assert.equal(carried.hostile, undefined);
  assert.deepEqual(carried.names, ['throughput', 'fanout', 'latency', 'memory', 'catchup', 'storm', 'stall']);
});

test('carryOver never carries over a workload run now', () => {
  const carried = carryOver(previousRun(), (name) => name === 'throughput' || name === 'stall');
  assert.equal(carried.workloads.throughput, undefined);
  assert.equal(carried.sqliteStall, undefined);
  assert.ok(carried.hostile !== undefined);
  assert.deepEqual(carried.names, ['fanout', 'latency', 'memory', 'catchup', 'storm', 'hostile']);
});

test('carryOver keeps the cluster workloads not run now, each under its own name', () => {
  const previous = previousRun();
  previous.cluster = {
    sizes: { nodes: 2, inFlight: 100, warmupMs: 1, windowMs: 1, windows: 1, subscribers: 1, latencyRate: 1, latencyMs: 1, failoverClients: 1, failoverRate: 1, failoverTimeoutMs: 1, redisFsync: 'everysec' },
    throughput: { oneNode: { holdfastRedis: { error: 'old cluster throughput' } }, twoNodes: {} },
    failover: { holdfastRedis: { error: 'old failover' } },
  };
  // A full run's merge of --only=failover: the cluster throughput stays, the failover is run now.
  const carried = carryOver(previous, (name) => name === 'failover');
  assert.deepEqual(carried.cluster?.throughput, previous.cluster.throughput);
  assert.equal(carried.cluster?.failover, undefined);
  assert.ok(carried.names.includes('cluster-throughput') && !carried.names.includes('failover'));
  // No cluster key was measured before: nothing to say about the ones never run.
  assert.ok(!carried.names.includes('cluster-fanout') && !carried.names.includes('cluster-latency'));
  // --only=cluster after a full run: every cluster workload is run now, none is carried.
  const clusterRun = carryOver(previous, (name) => ['cluster-throughput', 'cluster-fanout', 'cluster-latency', 'failover'].includes(name));
  assert.equal(clusterRun.cluster, undefined);
  // --only=hostile after a run with the cluster: the cluster section survives whole.
  assert.deepEqual(carryOver(previous, (name) => name === 'hostile').cluster, { sizes: previous.cluster.sizes, throughput: previous.cluster.throughput, failover: previous.cluster.failover });
});

test('carryOver of a results file from before the hostile workload carries nothing for it', () => {
  const { hostile: _, ...older } = previousRun();
  const carried = carryOver(older, () => false);
  assert.equal(carried.hostile, undefined);
  assert.ok(!carried.names.includes('hostile'));
});
