/**
 * The pure parts of the `hostile` benchmark workload: the target judgement (issue 10: at most
 * maxBufferedBytes + maxPayload + 1 MiB per connection at the peak, back to baseline after), the
 * /proc/<pid>/status parser the peak comes from, and the RESULTS.md section rendered from the JSON.
 * Synthetic round figures, so the expected verdicts are obvious.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BASELINE_SLACK_BYTES, boundFor, judge, type HostileFigures, type HostileResults } from '../../bench/hostile/figures.js';
import { parseStatus } from '../../bench/hostile/proc.js';
import { hostileSection, outcome } from '../../bench/report/hostile.js';
import { compareHostile, hostileOf } from '../../bench/report/hostile-compare.js';
import type { MemorySample } from '../../bench/lib/ipc.js';

const MiB = 2 ** 20;
const limits = { maxBufferedBytes: MiB, maxPayload: MiB };
const sample = (rssMiB: number, heapMiB = rssMiB / 2): MemorySample => ({ rss: rssMiB * MiB, heapUsed: heapMiB * MiB, heapTotal: heapMiB * MiB, external: 0, arrayBuffers: 0 });
const peak = (rssMiB: number) => ({ rss: rssMiB * MiB, heapUsed: (rssMiB / 2) * MiB, external: 0 });

test('the bound is maxBufferedBytes + maxPayload + 1 MiB per connection: 3 MiB at the defaults', () => {
  assert.equal(boundFor(limits, 1), 3 * MiB);
  assert.equal(boundFor(limits, 4), 12 * MiB);
  assert.equal(boundFor({ maxBufferedBytes: 4 * MiB, maxPayload: 2 * MiB }, 1), 7 * MiB);
});

test('judge: a peak within the bound and an end within the slack of the baseline meet the target', () => {
  const verdict = judge(limits, { connections: 1, baseline: sample(50), peak: peak(53), held: sample(52), after: sample(51.5) });
  assert.equal(verdict.addedPeakRss, 3 * MiB);
  assert.equal(verdict.addedHeldRss, 2 * MiB);
  assert.equal(verdict.addedAfterRss, 1.5 * MiB);
  assert.equal(verdict.addedPeakHeap, 1.5 * MiB);
  assert.deepEqual([verdict.peakMet, verdict.afterMet, verdict.met], [true, true, true]);
});

test('judge: a peak over the bound, or memory not given back, misses the target', () => {
  const high = judge(limits, { connections: 1, baseline: sample(50), peak: peak(54), held: sample(52), after: sample(50) });
  assert.deepEqual([high.peakMet, high.afterMet, high.met], [false, true, false]);
  const kept = judge(limits, { connections: 1, baseline: sample(50), peak: peak(53), held: sample(53), after: sample(52.5) });
  assert.deepEqual([kept.peakMet, kept.afterMet, kept.met], [true, false, false]);
  assert.equal(BASELINE_SLACK_BYTES, 2 * MiB);
});

test('judge: bound and slack scale with the connections of a flood', () => {
  const four = judge(limits, { connections: 4, baseline: sample(50), peak: peak(61), held: sample(55), after: sample(57.5) });
  assert.equal(four.bound, 12 * MiB);
  assert.deepEqual([four.peakMet, four.afterMet], [true, true]);
});

test('judge: a server that died meets nothing, whatever its figures', () => {
  const died = judge(limits, { connections: 1, baseline: sample(50), peak: peak(50.5), held: undefined, after: undefined, serverDied: 'killed at the safety cap' });
  assert.equal(died.addedAfterRss, undefined);
  assert.deepEqual([died.peakMet, died.afterMet, died.met], [false, false, false]);
});

test('parseStatus reads VmRSS and VmHWM in bytes, and refuses a text without them', () => {
  const text = 'Name:\tnode\nVmPeak:\t 1000000 kB\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\nThreads:\t11\n';
  assert.deepEqual(parseStatus(text), { rss: 100 * MiB, hwm: 200 * MiB });
  assert.equal(parseStatus('Name:\tnode\nVmRSS:\t 1 kB\n'), undefined);
  assert.equal(parseStatus(''), undefined);
});

function figures(overrides: Partial<HostileFigures> = {}): HostileFigures {
  const baseline = sample(50);
  const base: HostileFigures = {
    kind: 'never-read-errors',
    store: 'memory',
    connections: 1,
    what: 'sub to invalid topics | never reading',
    attack: { ms: 1000, framesSent: 10, bytesSent: 10 * MiB, framesReceived: 0, bytesReceived: 0, closeCodes: {}, errors: {}, counts: {} },
    baseline,
    peak: peak(150),
    held: sample(140),
    after: sample(90),
    connectionsAtEnd: 1,
    loopDuringFlood: { maxMs: 250, windowMs: 10_000 },
    judged: judge(limits, { connections: 1, baseline, peak: peak(150), held: sample(140), after: sample(90) }),
  };
  return { ...base, ...overrides };
}

test('outcome: a connection the server closed is reported as such, by close code or by the server\'s count', () => {
  assert.equal(outcome(figures()), 'still connected, nothing refused');
  assert.equal(outcome(figures({ attack: { ...figures().attack, closeCodes: { '4413': 1 } } })), 'closed by the server (4413)');
  assert.equal(outcome(figures({ connectionsAtEnd: 0 })), 'the server closed the connection');
  assert.equal(outcome(figures({ kind: 'catchup-non-readers', connections: 4, connectionsAtEnd: 1 })), 'the server closed 3 of 4 connections');
  assert.equal(outcome(figures({ attack: { ...figures().attack, errors: { TOO_MANY_TOPICS: 3 } } })), 'errors: TOO_MANY_TOPICS ×3');
  assert.match(outcome(figures({ serverDied: 'killed by the bench at 3072 MiB RSS' })), /^\*\*server died\*\*: killed by the bench/);
});

test('hostileSection: one row per flood with the added memory and the verdict; failures and extra tables', () => {
  const results: HostileResults = {
    limits,
    boundPerConnection: 3 * MiB,
    baselineSlackPerConnection: MiB,
    safetyCapBytes: 3 * 2 ** 30,
    floods: [
      figures(),
      { kind: 'early-frames', store: 'memory', what: 'hello, then frames', error: 'no welcome' },
      figures({
        kind: 'kept-replies-acks',
        store: 'sqlite',
        attack: { ...figures().attack, counts: { keptReplies: 9900 } },
        ackPhase: { frames: 9900, cpuMs: 1234, wallMs: 2000, writeBytes: 50 * MiB, wchar: 60 * MiB },
      }),
    ],
  };
  const text = hostileSection(results)!;
  assert.match(text, /^## Hostile connections/);
  assert.match(text, /3\.0 MiB here/);
  assert.match(text, /Met: 0 of 3 floods/);
  // The pipe inside `what` is escaped, so the row keeps its columns.
  assert.match(text, /\| 1\. never reads: error echoes \(memory\) \| sub to invalid topics \\\| never reading \| 10\.0 MiB in 10 frames \| 100\.0 MiB \| 50\.0 MiB \| 90\.0 MiB \| 40\.0 MiB \| 250 ms \| ✗ peak ≤ 3\.0 MiB, ✗ after \|/);
  assert.match(text, /\| 5\. frames before welcome \(memory\) \| hello, then frames \| \*\*failed\*\*: no welcome \|/);
  assert.match(text, /\| sqlite \| 9,900 \| 9,900 \| 1,234 ms \| 0\.12 ms \| 2,000 ms \| 52,428,800 B \(50\.0 MiB\) \| 5,296 B \|/);
  assert.doesNotMatch(text, /Topic flood:/);
  assert.equal(hostileSection(undefined), undefined);
});

test('compareHostile: before and after of each flood side by side, floods of one run only included', () => {
  const before: HostileResults = { limits, boundPerConnection: 3 * MiB, baselineSlackPerConnection: 2 * MiB, safetyCapBytes: 3 * 2 ** 30, floods: [figures(), { kind: 'topic-flood', store: 'sqlite', what: 'topics', error: 'boom' }] };
  const fixed = figures({ peak: peak(52), after: sample(51), connectionsAtEnd: 0 });
  fixed.judged = judge(limits, { connections: 1, baseline: fixed.baseline, peak: fixed.peak, held: fixed.held, after: fixed.after });
  const after: HostileResults = { ...before, floods: [fixed, figures({ kind: 'early-frames' })] };
  const text = compareHostile(before, after);
  assert.match(text, /\| 1\. never reads: error echoes \(memory\) \| 100\.0 MiB \| 2\.0 MiB \| 40\.0 MiB \| 1\.0 MiB \| ✗ → ✓ \| the server closed the connection \|/);
  assert.match(text, /\| 5\. frames before welcome \(memory\) \| – \| 100\.0 MiB \| – \| 40\.0 MiB \| not run → ✗ \|/);
  assert.match(text, /\| 4\. topic flood \(sqlite\) \| – \| – \| – \| – \| failed → not run \|  \|$/m);
  assert.throws(() => hostileOf({ date: 'x' }, 'old.json'), /old\.json has no hostile results/);
  assert.equal(hostileOf({ hostile: before }, 'b.json'), before);
});
