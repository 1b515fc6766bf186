/**
 * The chaos run's checker. It knows nothing of the run but its log files (faults.log, pub-*.log,
 * sub-*.log in one folder), read after everything stopped, and decides from them alone:
 *
 * - lost: an acknowledged message missing from a subscriber's log; also an attempted message
 *   missing there while a later message of the same stream is present (the server processes a
 *   client's publishes in order, so storing the later one means the earlier one was stored too);
 * - duplicated: a message `{p, n}` a second time in one subscriber's log (across its incarnations);
 * - reordered: a message whose `n` is below one already delivered from the same stream `p`;
 * - phantom: a delivered message no publisher ever attempted;
 * - unrecovered: a `subscribed` with `recovered: false` (Redis fsyncs every write: no history may go);
 * - diverged: one epoch and offset carrying different messages in two logs;
 * - stuck: a publish of an incarnation that stopped cleanly, neither acknowledged nor failed;
 * - gave up: a client that closed for good by itself (it would never reconnect again).
 *
 * Counts are per subscriber: a message lost by two subscribers counts twice.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FAULT_KINDS, parseLines, type FaultKind } from './log-lines.js';
import { CHAOS_DEFAULTS } from './options.js';

export interface ChaosReport {
  seed: number | undefined;
  minutes: number | undefined;
  nodes: number | undefined;
  /** Flags of the run that are not their defaults, for the replay line: ` --publishers 2`. */
  otherFlags: string;
  faults: number;
  faultsByKind: Record<FaultKind, number>;
  published: number;
  acked: number;
  delivered: number;
  lost: number;
  duplicated: number;
  reordered: number;
  phantom: number;
  unrecovered: number;
  diverged: number;
  stuck: number;
  gaveUp: number;
  /** Client disconnects by close code (4001: a client's heartbeat found its link silent). Not a failure. */
  disconnects: Record<string, number>;
  /** Refusals of a subscriber's `sub` by error code, with `(failed)` when it left the subscription failed. Not a failure by itself. */
  subscriptionErrors: Record<string, number>;
  /** The first problems found of each kind, each with the file and message it concerns. */
  problems: string[];
  ok: boolean;
}

const MAX_PROBLEMS_PER_KIND = 10;

export function checkRun(dir: string): ChaosReport {
  const files = readdirSync(dir).sort();
  const read = (name: string) => parseLines(readFileSync(join(dir, name), 'utf8'), name);
  const report: ChaosReport = {
    seed: undefined,
    minutes: undefined,
    nodes: undefined,
    otherFlags: '',
    faults: 0,
    faultsByKind: Object.fromEntries(FAULT_KINDS.map((kind) => [kind, 0])) as Record<FaultKind, number>,
    published: 0,
    acked: 0,
    delivered: 0,
    lost: 0,
    duplicated: 0,
    reordered: 0,
    phantom: 0,
    unrecovered: 0,
    diverged: 0,
    stuck: 0,
    gaveUp: 0,
    disconnects: {},
    subscriptionErrors: {},
    problems: [],
    ok: true,
  };
  // The first few of each kind, so that thousands of one kind cannot hide another.
  const shown = new Map<string, number>();
  const problem = (text: string) => {
    const kind = text.slice(0, text.indexOf(':'));
    const count = shown.get(kind) ?? 0;
    shown.set(kind, count + 1);
    if (count < MAX_PROBLEMS_PER_KIND) report.problems.push(text);
  };

  if (files.includes('faults.log')) {
    for (const line of read('faults.log')) {
      if (line['k'] === 'run') {
        report.seed = line['seed'] as number;
        report.minutes = line['minutes'] as number;
        report.nodes = line['nodes'] as number;
        // The plan depends on the number of clients too: a replay must name them.
        for (const flag of ['publishers', 'subscribers', 'pace'] as const) {
          if (line[flag] !== undefined && line[flag] !== CHAOS_DEFAULTS[flag]) report.otherFlags += ` --${flag} ${String(line[flag])}`;
        }
      } else if (line['k'] === 'fault') {
        report.faults++;
        const kind = line['kind'] as FaultKind;
        if (kind in report.faultsByKind) report.faultsByKind[kind]++;
      }
    }
  }

  // What the publishers attempted and had acknowledged, stream by stream.
  const attempted = new Map<string, Set<number>>();
  const acked = new Map<string, Set<number>>();
  const settled = new Map<string, Set<number>>();
  const ended = new Set<string>();
  const add = (map: Map<string, Set<number>>, p: string, n: number) => {
    let set = map.get(p);
    if (set === undefined) map.set(p, (set = new Set()));
    const fresh = !set.has(n);
    set.add(n);
    return fresh;
  };
  const disconnected = (line: Record<string, unknown>, file: string) => {
    if (line['k'] === 'gave-up') {
      report.gaveUp++;
      problem(`gave up: ${String(line['who'])} in ${file} closed for good by itself (close ${String(line['code'])} ${String(line['reason'])}): ${String(line['error'])}`);
    }
    if (line['k'] !== 'disconnect') return;
    const code = String(line['code']);
    report.disconnects[code] = (report.disconnects[code] ?? 0) + 1;
  };
  for (const name of files.filter((file) => /^pub-.*\.log$/.test(file))) {
    for (const line of read(name)) {
      disconnected(line, name);
      const p = String(line['p']);
      const n = line['n'] as number;
      if (line['k'] === 'attempt' && add(attempted, p, n)) report.published++;
      if (line['k'] === 'ack') {
        if (add(acked, p, n)) report.acked++;
        add(settled, p, n);
      }
      if (line['k'] === 'fail') add(settled, p, n);
      if (line['k'] === 'end') ended.add(p);
    }
  }
  for (const p of ended) {
    for (const n of attempted.get(p) ?? []) {
      if (settled.get(p)?.has(n)) continue;
      report.stuck++;
      problem(`stuck: ${p} #${n} was neither acknowledged nor failed although its publisher stopped cleanly`);
    }
  }

  // Which message each epoch:offset carried, as the first log to show it said.
  const byOffset = new Map<string, { p: string; n: number; file: string }>();
  for (const name of files.filter((file) => /^sub-.*\.log$/.test(file))) {
    const seen = new Map<string, Set<number>>();
    const highest = new Map<string, number>();
    for (const line of read(name)) {
      disconnected(line, name);
      if (line['k'] === 'sub-error') {
        const key = `${String(line['code'])}${line['state'] === 'failed' ? '(failed)' : ''}`;
        report.subscriptionErrors[key] = (report.subscriptionErrors[key] ?? 0) + 1;
        if (line['state'] === 'failed') problem(`failed subscription: ${name} (${String(line['s'])}) was refused for good: ${String(line['code'])} ${String(line['message'])}`);
      }
      if (line['k'] === 'subscribed' && line['recovered'] === false) {
        report.unrecovered++;
        problem(`unrecovered: ${name} (${String(line['s'])}) was told recovered:false at epoch ${String(line['epoch'])} offset ${String(line['offset'])}`);
      }
      if (line['k'] !== 'msg') continue;
      report.delivered++;
      const p = String(line['p']);
      const n = line['n'] as number;
      const where = `${name} (${String(line['s'])}) at ${String(line['e'])}:${String(line['o'])}`;
      if (!attempted.get(p)?.has(n)) {
        report.phantom++;
        problem(`phantom: ${p} #${n} in ${where} was never attempted`);
      }
      const offsetKey = `${String(line['e'])}:${String(line['o'])}`;
      const earlier = byOffset.get(offsetKey);
      if (earlier === undefined) byOffset.set(offsetKey, { p, n, file: name });
      else if (earlier.p !== p || earlier.n !== n) {
        report.diverged++;
        problem(`diverged: ${offsetKey} is ${p} #${n} in ${name} but ${earlier.p} #${earlier.n} in ${earlier.file}`);
      }
      if (!add(seen, p, n)) {
        report.duplicated++;
        problem(`duplicated: ${p} #${n} again in ${where}`);
        continue;
      }
      const top = highest.get(p);
      if (top !== undefined && n < top) {
        report.reordered++;
        problem(`reordered: ${p} #${n} in ${where} after #${top}`);
      } else {
        highest.set(p, n);
      }
    }
    for (const [p, ns] of attempted) {
      const top = highest.get(p) ?? -Infinity;
      for (const n of ns) {
        if (seen.get(p)?.has(n)) continue;
        if (acked.get(p)?.has(n)) {
          report.lost++;
          problem(`lost: ${p} #${n} was acknowledged but is not in ${name}`);
        } else if (n < top) {
          report.lost++;
          problem(`lost: ${p} #${n} is not in ${name}, though #${top} of the same stream is`);
        }
      }
    }
  }

  report.ok = report.lost + report.duplicated + report.reordered + report.phantom + report.unrecovered + report.diverged + report.stuck + report.gaveUp === 0;
  return report;
}

/** The summary line (always the first), then the other counts, the faults by kind, the problems and how to replay. */
export function formatReport(report: ChaosReport): string[] {
  const lines = [
    `chaos seed=${report.seed ?? '?'} faults=${report.faults} published=${report.published} acked=${report.acked} delivered=${report.delivered} lost=${report.lost} duplicated=${report.duplicated} reordered=${report.reordered}`,
    `also phantom=${report.phantom} unrecovered=${report.unrecovered} diverged=${report.diverged} stuck=${report.stuck} gave-up=${report.gaveUp}`,
    `faults by kind: ${FAULT_KINDS.map((kind) => `${kind}=${report.faultsByKind[kind]}`).join(' ')}`,
    `client disconnects by close code: ${Object.entries(report.disconnects).map(([code, count]) => `${code}=${count}`).join(' ') || 'none'}`,
    `subscription errors: ${Object.entries(report.subscriptionErrors).map(([code, count]) => `${code}=${count}`).join(' ') || 'none'}`,
    ...report.problems.map((text) => `  ${text}`),
    report.ok ? 'result: ok' : 'result: FAILED',
  ];
  if (report.seed !== undefined) {
    lines.push(`replay: npm run chaos -- --seed ${report.seed} --minutes ${report.minutes ?? '?'} --nodes ${report.nodes ?? '?'}${report.otherFlags}`);
  }
  return lines;
}
