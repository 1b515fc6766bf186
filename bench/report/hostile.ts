/**
 * The `hostile` workload in bench/RESULTS.md: one row per flood with what it added to the server's
 * memory and whether the target was met, then the ack-phase cost and the topic flood's stalls.
 * Everything comes from the results JSON (bench/hostile/figures.ts).
 */
import { isHostileFigures, type HostileEntry, type HostileFigures, type HostileResults } from '../hostile/figures.js';
import type { HostileKind } from '../hostile/plans.js';
import { bytes, cell, counts, dash, int, ms } from './format.js';

/** Short names, numbered as the flood kinds of issue 10. */
export const HOSTILE_TITLES: Record<HostileKind, string> = {
  control: '0. control: a well-behaved client',
  'never-read-errors': '1. never reads: error echoes',
  'never-read-pongs': '1. never reads: pongs',
  'never-read-replies': '1. never reads: replies',
  'never-read-acks': '1. never reads: acks',
  'catchup-non-readers': '2. catch-up to non-readers',
  'kept-replies-acks': '3. kept replies, then acks',
  'topic-flood': '4. topic flood',
  'early-frames': '5. frames before welcome',
  'bulk-reliable': '6. bulk: 1 MiB publishes',
  'bulk-latest-keys': '6. bulk: latest keys',
};

function table(headers: string[], numeric: boolean[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map((_, i) => (numeric[i] === true ? '---:' : ':---'))), ...rows.map(line)].join('\n');
}

const mib = (value: number | undefined): string => (value === undefined || !Number.isFinite(value) ? dash : `${(value / 2 ** 20).toFixed(1)} MiB`);
const yes = (met: boolean): string => (met ? '✓' : '✗');

/** How the flood ended for the attacker: closed by the server (a defence), refusals, a dead server. */
export function outcome(f: HostileFigures): string {
  const parts: string[] = [];
  if (f.serverDied !== undefined) parts.push(`**server died**: ${f.serverDied}`);
  const closes = Object.entries(f.attack.closeCodes).map(([code, n]) => (n > 1 ? `${code} ×${n}` : code));
  if (closes.length > 0) parts.push(`closed by the server (${closes.join(', ')})`);
  else if (f.connectionsAtEnd !== undefined && f.connectionsAtEnd < f.connections && f.serverDied === undefined) {
    const closed = f.connections - f.connectionsAtEnd;
    parts.push(f.connections === 1 ? 'the server closed the connection' : `the server closed ${closed} of ${f.connections} connections`);
  }
  const errors = counts(f.attack.errors);
  if (errors !== 'none') parts.push(`errors: ${errors}`);
  return parts.length === 0 ? 'still connected, nothing refused' : parts.join('; ');
}

function row(entry: HostileEntry): string[] {
  const title = `${HOSTILE_TITLES[entry.kind]} (${entry.store})`;
  if (!isHostileFigures(entry)) return [title, cell(entry.what), `**failed**: ${cell(entry.error)}`, '', '', '', '', '', '', ''];
  const j = entry.judged;
  return [
    title,
    cell(entry.what),
    `${mib(entry.attack.bytesSent)} in ${int(entry.attack.framesSent)} frames`,
    mib(j.addedPeakRss),
    mib(j.addedPeakHeap),
    mib(j.addedHeldRss),
    mib(j.addedAfterRss),
    entry.loopDuringFlood === undefined ? dash : ms(entry.loopDuringFlood.maxMs),
    `${yes(j.peakMet)} peak ≤ ${mib(j.bound)}, ${yes(j.afterMet)} after`,
    cell(outcome(entry)),
  ];
}

function ackPhase(floods: HostileFigures[]): string | undefined {
  const rows = floods
    .filter((f) => f.ackPhase !== undefined)
    .map((f) => {
      const a = f.ackPhase!;
      const per = (value: number | undefined): string => (value === undefined || a.frames === 0 ? dash : bytes(value / a.frames));
      return [`${f.store}`, int(f.attack.counts['keptReplies']), int(a.frames), ms(a.cpuMs), ms(a.frames === 0 ? undefined : a.cpuMs / a.frames), ms(a.wallMs), bytes(a.writeBytes), per(a.writeBytes), bytes(a.wchar)];
    });
  if (rows.length === 0) return undefined;
  return (
    'Kept replies, then one `ack` frame per reply: the server\'s CPU time and what it wrote (its /proc/&lt;pid&gt;/io: `write_bytes` reached storage, `wchar` went through write()) ' +
    'from the first ack until it was idle again.\n\n' +
    table(
      ['store', 'kept replies', 'ack frames', 'server CPU', 'CPU per ack', 'wall time', 'written to storage', 'per ack', 'write() bytes'],
      [false, true, true, true, true, true, true, true, true],
      rows,
    )
  );
}

function topicFlood(floods: HostileFigures[]): string | undefined {
  const rows = floods
    .filter((f) => f.kind === 'topic-flood')
    .map((f) => [
      f.store,
      int(f.attack.counts['topicsSent']),
      int(f.topics),
      mib(f.judged.addedPeakRss),
      f.loopDuringFlood === undefined ? dash : ms(f.loopDuringFlood.maxMs),
      f.loopAfter === undefined ? dash : `${ms(f.loopAfter.maxMs)} (over ${ms(f.loopAfter.windowMs)})`,
    ]);
  if (rows.length === 0) return undefined;
  return (
    'Topic flood: topics the attacker published to, topics the store held afterwards, and the longest event-loop stall ' +
    '(`monitorEventLoopDelay`) during the flood and during the retention sweeps after it.\n\n' +
    table(['store', 'topics sent', 'topics in the store', 'peak added RSS', 'longest stall, flood', 'longest stall, sweeps after'], [false, true, true, true, true, true], rows)
  );
}

export function hostileSection(results: HostileResults | undefined): string | undefined {
  if (results === undefined) return undefined;
  const floods = results.floods.filter(isHostileFigures);
  const met = floods.filter((f) => f.kind !== 'control' && f.judged.met).length;
  const judged = results.floods.filter((f) => f.kind !== 'control').length;
  const intro =
    `## Hostile connections\n\nOne hostile connection (or the few a flood names) against a fresh server with the defaults of \`holdfast serve\`: ` +
    `what it adds to the server's RSS at its peak (kernel VmHWM), while still connected and after it left (both after a full GC). ` +
    `Target: at most maxBufferedBytes + maxPayload + 1 MiB per connection (${mib(results.boundPerConnection)} here) at the peak, and within ` +
    `${mib(results.baselineSlackPerConnection)} per connection of the baseline after it left. A connection the server closes is a defence, not a failure. ` +
    `"Longest stall": the server's longest event-loop delay from the baseline until the attacker stopped. ` +
    `Above ${(results.safetyCapBytes / 2 ** 30).toFixed(1)} GiB of RSS the bench kills the server. Met: ${int(met)} of ${int(judged)} floods.`;
  const main = table(
    ['flood', 'what the attacker does', 'sent', 'peak added RSS', 'peak added heap', 'added, connected', 'added after it left', 'longest stall', 'target', 'outcome'],
    [false, false, true, true, true, true, true, true, false, false],
    results.floods.map(row),
  );
  return [intro, main, ackPhase(floods), topicFlood(floods)].filter((part): part is string => part !== undefined).join('\n\n');
}

/** The console lines of bench/lib/summary.ts. */
export function hostileSummaryRows(results: HostileResults): string[][] {
  return results.floods.map((entry) => {
    const title = `${HOSTILE_TITLES[entry.kind]} (${entry.store})`;
    if (!isHostileFigures(entry)) return [title, `failed: ${entry.error.slice(0, 60)}`, '', '', ''];
    const j = entry.judged;
    return [title, mib(j.addedPeakRss), mib(j.addedAfterRss), j.met ? 'yes' : 'NO', outcome(entry).replace(/\*\*/g, '').slice(0, 70)];
  });
}
