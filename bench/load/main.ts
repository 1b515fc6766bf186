/**
 * The load process for one system under test: `node load/main.js --system=<id>`. It waits for
 * commands from the orchestrator (bench/run.ts) and runs the workload asked for with that
 * system's driver, in its own process pinned to its own core.
 */
import { driverFor } from '../drivers/index.js';
import type { BenchClient } from '../drivers/types.js';
import { childSafety, onParentMessage, toParent, type LoadCommand } from '../lib/ipc.js';
import { CLUSTER_SYSTEM_IDS, SYSTEM_IDS, type ClusterSystemId, type SystemId } from '../lib/results.js';
import { openInBatches } from './common.js';
import { FailoverClients, FailoverPublisher } from './failover.js';
import { Storm } from './storm.js';
import { catchup, connect, fanout, latency, throughput } from './workloads.js';

const ALL_IDS: ReadonlyArray<SystemId | ClusterSystemId> = [...SYSTEM_IDS, ...CLUSTER_SYSTEM_IDS];
const system = process.argv.find((arg) => arg.startsWith('--system='))?.slice('--system='.length) as SystemId | ClusterSystemId | undefined;
if (system === undefined || !ALL_IDS.includes(system)) throw new Error(`--system=<${ALL_IDS.join('|')}> is required`);
const driver = driverFor(system);
const name = `${system} load`;
childSafety(name, 600_000);

const idle: BenchClient[] = [];
let storm: Storm | undefined;
let failover: FailoverClients | undefined;
let publisher: FailoverPublisher | undefined;

function fail(error: unknown): void {
  toParent({ type: 'fatal', message: `${name}: ${error instanceof Error ? error.message : String(error)}` });
  setTimeout(() => process.exit(1), 100);
}

function answer<T>(work: Promise<T>, reply: (value: T) => void, exitAfter = true): void {
  work.then((value) => {
    reply(value);
    if (exitAfter) setTimeout(() => process.exit(0), 100);
  }, fail);
}

onParentMessage<LoadCommand>((command) => {
  switch (command.type) {
    case 'throughput':
      return answer(throughput(driver, command.config, command.topic, command.urls), (result) => toParent({ type: 'throughput', result }));
    case 'fanout':
      return answer(fanout(driver, command.config), (result) => toParent({ type: 'fanout', result }));
    case 'latency':
      return answer(latency(driver, command.config), (result) => toParent({ type: 'latency', result }));
    case 'catchup':
      return answer(catchup(driver, command.config), (result) => toParent({ type: 'catchup', result }));
    case 'open': {
      const errors: Record<string, number> = {};
      const opening = openInBatches(
        command.count,
        command.batch,
        async (index) => {
          const client = await connect(driver, command.url, 'idle');
          idle[index] = client;
          await client.subscribe(command.topic, () => undefined);
        },
        errors,
      );
      return answer(opening, (outcome) => toParent({ type: 'opened', ...outcome, errors }), false);
    }
    case 'storm-open':
      storm = new Storm(driver, command.url, command.count);
      return answer(storm.open(command.batch, command.topic), (outcome) => toParent({ type: 'storm-opened', ...outcome, errors: storm?.errors ?? {} }), false);
    case 'storm-killed':
      storm?.killed();
      return;
    case 'storm-restarted':
      if (storm === undefined) return fail(new Error('storm-restarted before storm-open'));
      return answer(storm.restarted(command.downMs, command.timeoutMs), (result) => toParent({ type: 'storm', result }), false);
    case 'failover-open':
      failover = new FailoverClients(driver, command.url, command.count, command.capacity);
      return answer(failover.open(command.batch, command.topic), (outcome) => toParent({ type: 'failover-opened', ...outcome, errors: failover?.errors ?? {} }), false);
    case 'failover-killed':
      failover?.killed(command.at);
      return;
    case 'failover-settle':
      if (failover === undefined) return fail(new Error('failover-settle before failover-open'));
      return answer(failover.settle(command.timeoutMs), () => toParent({ type: 'failover-settle' }), false);
    case 'failover-tally':
      if (failover === undefined) return fail(new Error('failover-tally before failover-open'));
      return answer(failover.tally(command.published, command.unacknowledged, command.graceMs), (share) => toParent({ type: 'failover-tally', share }), false);
    case 'failover-publish':
      publisher = new FailoverPublisher(driver, command.url);
      return answer(publisher.start(command.topic, command.ratePerSecond, command.payloadBytes, command.capacity), () => toParent({ type: 'failover-publish' }), false);
    case 'failover-publish-stop':
      if (publisher === undefined) return fail(new Error('failover-publish-stop before failover-publish'));
      return answer(publisher.stop(command.graceMs), (outcome) => toParent({ type: 'failover-publish-stop', ...outcome }), false);
    case 'stop':
      setTimeout(() => process.exit(0), 3000).unref();
      for (const client of idle) client?.close();
      storm?.close();
      failover?.close();
      publisher?.close();
      setTimeout(() => process.exit(0), 100);
      return;
  }
});
