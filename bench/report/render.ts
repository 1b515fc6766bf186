/**
 * Writes bench/RESULTS.md and bench/results/chart.png from a results JSON file.
 *
 *   node --import tsx bench/report/render.ts [results.json] [--root dir]
 *
 * results.json defaults to bench/results/latest.json; --root writes under another directory (as
 * dir/bench/RESULTS.md and dir/bench/results/chart.png) instead of this repository.
 *
 * The harness calls `writeReport` at the end of a run; the command line re-renders a saved run
 * (after a change to the report, or from another machine's JSON) without measuring again.
 */
import { mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResults } from '../lib/results.js';
import { renderChart } from './chart.js';
import { renderMarkdown } from './markdown.js';

/**
 * Writes `<root>/bench/RESULTS.md` and `<root>/bench/results/chart.png`; `root` is the repository
 * root. Returns the absolute paths written, markdown first (bench/run.ts prints them).
 */
export function writeReport(results: BenchResults, root: string): string[] {
  const markdown = join(root, 'bench', 'RESULTS.md');
  const chart = join(root, 'bench', 'results', 'chart.png');
  // Render both before writing either, so a rendering error leaves the previous pair untouched.
  const text = renderMarkdown(results);
  const png = renderChart(results);
  mkdirSync(dirname(chart), { recursive: true });
  writeFileSync(markdown, text);
  writeFileSync(chart, png);
  return [markdown, chart];
}

/**
 * A light check of the parsed JSON: enough to refuse a file of another shape (such as the results
 * of an older harness) with a clear message instead of a TypeError deep inside a table.
 */
export function asBenchResults(value: unknown, source: string): BenchResults {
  const record = value as Partial<Record<keyof BenchResults, unknown>> | null;
  const problems: string[] = [];
  if (typeof record !== 'object' || record === null) problems.push('not a JSON object');
  else {
    if (typeof record.date !== 'string') problems.push('no "date"');
    if (typeof record.workloads !== 'object' || record.workloads === null) problems.push('no "workloads"');
    if (!Array.isArray(record.targets)) problems.push('no "targets" array');
    if (typeof record.sizes !== 'object' || record.sizes === null) problems.push('no "sizes"');
    if (!Array.isArray(record.notes)) problems.push('no "notes" array');
  }
  if (problems.length > 0) throw new Error(`${source} is not a BenchResults file (bench/lib/results.ts): ${problems.join(', ')}`);
  return value as BenchResults;
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function main(argv: string[]): void {
  const at = argv.indexOf('--root');
  const outRoot = at >= 0 ? argv[at + 1] : undefined;
  if (at >= 0 && outRoot === undefined) throw new Error('--root needs a directory');
  const positional = at < 0 ? argv : argv.filter((_, i) => i !== at && i !== at + 1);
  const input = resolve(positional[0] ?? join(root, 'bench', 'results', 'latest.json'));
  const results = asBenchResults(JSON.parse(readFileSync(input, 'utf8')), input);
  for (const file of writeReport(results, outRoot === undefined ? root : resolve(outRoot))) console.log(`written: ${file}`);
}

/** Whether this file is the program being run (rather than imported by the harness or a test). */
function isMain(): boolean {
  const invokedAs = process.argv[1];
  if (invokedAs === undefined) return false;
  try {
    return realpathSync(invokedAs) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  try {
    main(process.argv.slice(2));
  } catch (error) {
    console.error(`[report] ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}
