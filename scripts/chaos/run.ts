import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkRun, formatReport, type ChaosReport } from './checker.js';
import type { Cleanup } from './cleanup.js';
import { ClientProcess, PUBLISHER_DRAIN_MS } from './clients.js';
import { Deployment } from './deployment.js';
import { FaultProxy } from './fault-proxy.js';
import { appendLine } from './log-lines.js';
import type { ChaosOptions } from './options.js';
import { planFaults, type PlannedFault } from './plan.js';
import { sleep } from './processes.js';

/** Longest wait, after the faults stopped, for every killed process to be back. */
const RESTART_MS = 60_000;
/** Longest wait, after the publishers stopped, for the subscribers to catch up. */
const CATCH_UP_MS = 45_000;
/** The subscribers' logs must stop growing for this long before they are stopped. */
const QUIET_MS = 1000;

export interface ChaosOutcome {
  report: ChaosReport;
  /** Processes that died or hung on their own: each is a failure too. */
  surprises: string[];
  ok: boolean;
  /** Where the logs are (removed when the run passed, unless --keep). */
  dir: string;
  kept: boolean;
}

/**
 * The run: start the deployment and the clients, carry out the seed's fault plan for the given
 * minutes, then drain (every spell ended, everything down started again, publishers stopped once
 * their acknowledgements came, subscribers given time to catch up), stop everything, and hand the
 * logs to the checker.
 */
export async function runChaos(options: ChaosOptions, cleanup: Cleanup, print: (line: string) => void): Promise<ChaosOutcome> {
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-chaos-'));
  const faultsLog = join(dir, 'faults.log');
  appendLine(faultsLog, {
    k: 'run',
    seed: options.seed,
    minutes: options.minutes,
    nodes: options.nodes,
    publishers: options.publishers,
    subscribers: options.subscribers,
    pace: options.pace,
  });
  print(`chaos: seed ${options.seed}, ${options.minutes} min, ${options.nodes} nodes, ${options.publishers} publishers, ${options.subscribers} subscribers; logs in ${dir}`);

  const deployment = await Deployment.start(options.nodes, dir, (step) => cleanup.add(step));
  const clients: ClientProcess[] = [];
  for (const [role, count] of [['pub', options.publishers], ['sub', options.subscribers]] as const) {
    for (let i = 0; i < count; i++) {
      const proxy = await FaultProxy.start(deployment.nginx.port);
      cleanup.add(() => proxy.close());
      const client = new ClientProcess(role, i, proxy, dir, options.pace);
      cleanup.add(() => client.abort());
      clients.push(client);
    }
  }
  const publishers = clients.filter((client) => client.role === 'pub');
  const subscribers = clients.filter((client) => client.role === 'sub');

  const durationMs = Math.round(options.minutes * 60_000);
  const plan = planFaults(options.seed, { durationMs, nodes: options.nodes, clients: clients.length });
  print(`chaos: ${plan.length} faults planned over ${durationMs / 1000} s`);
  for (const client of [...subscribers, ...publishers]) client.start();

  // Kills recover in the background (down, then started again); the drain waits for them.
  const recoveries = new Set<Promise<void>>();
  const background = (work: Promise<void>) => {
    const tracked = work.catch((error: unknown) => print(`chaos: a restart failed: ${String(error)}`)).finally(() => recoveries.delete(tracked));
    recoveries.add(tracked);
  };
  const began = Date.now();
  let lastProgress = began;
  for (const fault of plan) {
    const wait = began + fault.at - Date.now();
    if (wait > 0) await sleep(wait);
    const target = carryOut(fault, deployment, clients, background);
    appendLine(faultsLog, { k: 'fault', at: Date.now() - began, kind: fault.kind, target, ms: fault.ms });
    if (Date.now() - lastProgress >= 10_000) {
      lastProgress = Date.now();
      print(`chaos: ${Math.round((lastProgress - began) / 1000)} s, ${plan.indexOf(fault) + 1} faults so far`);
    }
  }
  const left = began + durationMs - Date.now();
  if (left > 0) await sleep(left);

  print('chaos: faults stopped; draining');
  for (const client of clients) client.proxy.heal();
  const restarted = (async () => {
    while (recoveries.size > 0) await Promise.all([...recoveries]);
    await deployment.ensureUp();
  })();
  if (!(await within(RESTART_MS, restarted))) print(`chaos: the deployment was not all up again ${RESTART_MS / 1000} s after the faults stopped; draining anyway`);
  for (const client of clients) client.ensureUp();
  await Promise.all(publishers.map((client) => client.stop(PUBLISHER_DRAIN_MS + 5000)));
  const acked = publishers.reduce((sum, client) => sum + countLines(client.logFile, '"k":"ack"'), 0);
  const catchUpEnds = Date.now() + CATCH_UP_MS;
  let counts = '';
  let quietSince = Date.now();
  for (;;) {
    const delivered = subscribers.map((client) => countLines(client.logFile, '"k":"msg"'));
    const now = `${delivered.join(',')}`;
    if (now !== counts) {
      counts = now;
      quietSince = Date.now();
    }
    const caughtUp = delivered.every((count) => count >= acked) && Date.now() - quietSince >= QUIET_MS;
    if (caughtUp || Date.now() > catchUpEnds) break;
    await sleep(100);
  }
  await Promise.all(subscribers.map((client) => client.stop(5000)));
  await cleanup.run();

  const report = checkRun(dir);
  const surprises = [...deployment.surprises, ...clients.flatMap((client) => client.surprises)];
  const ok = report.ok && surprises.length === 0;
  const kept = !ok || options.keep;
  for (const line of formatReport(report)) print(line);
  for (const surprise of surprises) print(`  surprise: ${surprise}`);
  if (surprises.length > 0) print('result: FAILED (processes died or hung by themselves)');
  if (kept) print(`logs kept in ${dir} (check them again: node --import tsx scripts/chaos/check.ts ${dir})`);
  else rmSync(dir, { recursive: true, force: true });
  return { report, surprises, ok, dir, kept };
}

/** Starts one fault; kills recover in the background. Returns the target's name for the log. */
function carryOut(fault: PlannedFault, deployment: Deployment, clients: ClientProcess[], background: (work: Promise<void>) => void): string {
  switch (fault.kind) {
    case 'node-kill':
      background(deployment.killNode(fault.target, fault.ms));
      return `node${fault.target}`;
    case 'redis-kill':
      background(deployment.killRedis(fault.ms));
      return 'redis';
    case 'client-kill': {
      const client = clients[fault.target]!;
      background(client.kill(fault.ms));
      return client.name;
    }
    case 'cut': {
      const client = clients[fault.target]!;
      client.proxy.cut();
      return client.name;
    }
    case 'half-open': {
      const client = clients[fault.target]!;
      client.proxy.halfOpen(fault.ms);
      return client.name;
    }
    case 'delay': {
      const client = clients[fault.target]!;
      client.proxy.delay(fault.latency, fault.ms);
      return `${client.name}+${fault.latency}ms`;
    }
  }
}

/** Whether `work` settled within `ms`. */
async function within(ms: number, work: Promise<void>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const done = await Promise.race([work.then(() => true), timeout]);
  clearTimeout(timer);
  return done;
}

function countLines(file: string, marker: string): number {
  if (!existsSync(file)) return 0;
  return readFileSync(file, 'utf8').split(marker).length - 1;
}
