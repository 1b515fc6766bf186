/**
 * `npm run chaos -- --seed S --minutes M [--nodes N]`: runs a real deployment (its own redis-server
 * fsyncing every write, N `holdfast serve` nodes behind nginx, publisher and subscriber processes
 * each behind a fault-injecting proxy) and breaks it at random, reproducibly from the seed, for M
 * minutes; then drains, stops everything and checks the logs: nothing acknowledged lost, nothing
 * duplicated, reordered or made up. Exits 0 when all is well, 1 on any failure, 2 on a usage error.
 * docs/chaos.md explains the faults and the checker.
 */
import { Cleanup } from './chaos/cleanup.js';
import { CHAOS_USAGE, parseChaosArgs, type ChaosOptions } from './chaos/options.js';
import { runChaos } from './chaos/run.js';

let options: ChaosOptions;
try {
  options = parseChaosArgs(process.argv.slice(2));
} catch (error) {
  console.error(`chaos: ${error instanceof Error ? error.message : String(error)}\n${CHAOS_USAGE}`);
  process.exit(2);
}

const cleanup = new Cleanup();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    console.error(`chaos: ${signal}, stopping everything it started`);
    // Bounded: a cleanup that hangs must not keep the terminal.
    setTimeout(() => process.exit(130), 10_000).unref();
    void cleanup.run().then(() => process.exit(130));
  });
}

// The run bounds each step of its drain; this bounds the whole, should one of them hang anyway.
const limitMs = options.minutes * 60_000 + 5 * 60_000;
setTimeout(() => {
  console.error(`chaos: still running ${Math.round(limitMs / 1000)} s after the start; stopping everything`);
  setTimeout(() => process.exit(1), 10_000).unref();
  void cleanup.run().then(() => process.exit(1));
}, limitMs).unref();

try {
  const outcome = await runChaos(options, cleanup, (line) => console.log(line));
  process.exit(outcome.ok ? 0 : 1);
} catch (error) {
  console.error('chaos: the run itself failed:', error);
  await cleanup.run();
  process.exit(1);
}
