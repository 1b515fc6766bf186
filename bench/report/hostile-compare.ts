/**
 * Before/after of the `hostile` workload: one markdown row per flood of two results files, for
 * the note that reports the hardening against issue 10.
 *
 *   node --import tsx bench/report/hostile-compare.ts [before.json] [after.json]
 *
 * before.json defaults to bench/results/hostile-before.json, after.json to bench/results/latest.json;
 * either may be a whole results file or one with a `hostile` field only.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isHostileFigures, type HostileEntry, type HostileResults } from '../hostile/figures.js';
import { HOSTILE_TITLES, outcome } from './hostile.js';
import { cell, dash } from './format.js';

const mib = (value: number | undefined): string => (value === undefined || !Number.isFinite(value) ? dash : `${(value / 2 ** 20).toFixed(1)} MiB`);

const key = (entry: HostileEntry): string => `${entry.kind}/${entry.store}`;

function figuresOf(entry: HostileEntry | undefined): { peak: string; after: string; met: string; outcome: string } {
  if (entry === undefined) return { peak: dash, after: dash, met: 'not run', outcome: '' };
  if (!isHostileFigures(entry)) return { peak: dash, after: dash, met: 'failed', outcome: cell(entry.error) };
  const j = entry.judged;
  return { peak: mib(j.addedPeakRss), after: mib(j.addedAfterRss), met: j.met ? '✓' : '✗', outcome: cell(outcome(entry)) };
}

/** A markdown table: each flood of either run, in the order of `after` then the ones only `before` has. */
export function compareHostile(before: HostileResults, after: HostileResults): string {
  const earlier = new Map(before.floods.map((entry) => [key(entry), entry]));
  const later = new Map(after.floods.map((entry) => [key(entry), entry]));
  const order = [...later.keys(), ...[...earlier.keys()].filter((k) => !later.has(k))];
  const rows = order.map((k) => {
    const entry = (later.get(k) ?? earlier.get(k))!;
    const b = figuresOf(earlier.get(k));
    const a = figuresOf(later.get(k));
    return [`${HOSTILE_TITLES[entry.kind]} (${entry.store})`, b.peak, a.peak, b.after, a.after, `${b.met} → ${a.met}`, a.outcome];
  });
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [
    line(['flood', 'peak added, before', 'peak added, after', 'left behind, before', 'left behind, after', 'target met', 'outcome after']),
    line([':---', '---:', '---:', '---:', '---:', ':---', ':---']),
    ...rows.map(line),
  ].join('\n');
}

/** The `hostile` part of a results file. */
export function hostileOf(value: unknown, source: string): HostileResults {
  const hostile = (value as { hostile?: unknown } | null)?.hostile;
  if (typeof hostile !== 'object' || hostile === null || !Array.isArray((hostile as HostileResults).floods)) {
    throw new Error(`${source} has no hostile results (run npm run bench -- --only=hostile)`);
  }
  return hostile as HostileResults;
}

function main(argv: string[]): void {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const [beforeFile = join(root, 'bench/results/hostile-before.json'), afterFile = join(root, 'bench/results/latest.json')] = argv.map((file) => resolve(file));
  const read = (file: string): HostileResults => hostileOf(JSON.parse(readFileSync(file, 'utf8')), file);
  console.log(compareHostile(read(beforeFile), read(afterFile)));
}

const invokedAs = process.argv[1];
if (invokedAs !== undefined && realpathSync(invokedAs) === realpathSync(fileURLToPath(import.meta.url))) {
  try {
    main(process.argv.slice(2));
  } catch (error) {
    console.error(`[hostile-compare] ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}
