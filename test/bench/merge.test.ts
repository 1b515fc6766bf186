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

test('carryOver of a results file from before the hostile workload carries nothing for it', () => {
  const { hostile: _, ...older } = previousRun();
  const carried = carryOver(older, () => false);
  assert.equal(carried.hostile, undefined);
  assert.ok(!carried.names.includes('hostile'));
});
