import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { checkRun, formatReport, type ChaosReport } from '../../scripts/chaos/checker.js';
import type { FaultsLine, PublisherLine, SubscriberLine } from '../../scripts/chaos/log-lines.js';

type Logs = Record<string, Array<PublisherLine | SubscriberLine | FaultsLine>>;
const EPOCH = 'e1';

/**
 * A clean run, as the chaos command would leave it: publisher 0 ran twice (its first incarnation
 * was killed with #2 published but not acknowledged, and #3 attempted but never stored), publisher 1
 * once; two subscribers got every stored message in offset order, one of them over two incarnations.
 */
function cleanRun(): Logs {
  const stored: Array<[string, number]> = [['pub0.1', 0], ['pub1.1', 0], ['pub0.1', 1], ['pub1.1', 1], ['pub0.1', 2], ['pub0.2', 0], ['pub1.1', 2], ['pub0.2', 1]];
  const msgs = (s: string, from: number, to: number): SubscriberLine[] =>
    stored.slice(from, to).map(([p, n], index) => ({ k: 'msg', s, p, n, e: EPOCH, o: from + index + 1 }));
  const subscribed = (s: string, offset: number, resubscribe: boolean): SubscriberLine => ({ k: 'subscribed', s, epoch: EPOCH, offset, recovering: offset > 0, recovered: true, resubscribe });
  return {
    'faults.log': [
      { k: 'run', seed: 7, minutes: 0.5, nodes: 2, publishers: 2, subscribers: 2, pace: 100 },
      { k: 'fault', at: 900, kind: 'client-kill', target: 'pub0', ms: 300 },
      { k: 'fault', at: 1900, kind: 'cut', target: 'sub1', ms: 0 },
      { k: 'fault', at: 2500, kind: 'client-kill', target: 'sub1', ms: 300 },
    ],
    'pub-0.log': [
      { k: 'start', p: 'pub0.1' },
      { k: 'attempt', p: 'pub0.1', n: 0 },
      { k: 'ack', p: 'pub0.1', n: 0 },
      { k: 'attempt', p: 'pub0.1', n: 1 },
      { k: 'ack', p: 'pub0.1', n: 1 },
      { k: 'attempt', p: 'pub0.1', n: 2 },
      { k: 'attempt', p: 'pub0.1', n: 3 },
      { k: 'start', p: 'pub0.2' },
      { k: 'attempt', p: 'pub0.2', n: 0 },
      { k: 'ack', p: 'pub0.2', n: 0 },
      { k: 'attempt', p: 'pub0.2', n: 1 },
      { k: 'ack', p: 'pub0.2', n: 1 },
      { k: 'end', p: 'pub0.2', pending: 0 },
    ],
    'pub-1.log': [
      { k: 'start', p: 'pub1.1' },
      { k: 'attempt', p: 'pub1.1', n: 0 },
      { k: 'ack', p: 'pub1.1', n: 0 },
      { k: 'attempt', p: 'pub1.1', n: 1 },
      { k: 'ack', p: 'pub1.1', n: 1 },
      { k: 'disconnect', who: 'pub1.1', code: 4001, reason: 'heartbeat timeout', willReconnect: true, t: 1000 },
      { k: 'attempt', p: 'pub1.1', n: 2 },
      { k: 'ack', p: 'pub1.1', n: 2 },
      { k: 'end', p: 'pub1.1', pending: 0 },
    ],
    'sub-0.log': [{ k: 'start', s: 'sub0.1', position: null }, subscribed('sub0.1', 0, false), ...msgs('sub0.1', 0, 8)],
    'sub-1.log': [
      { k: 'start', s: 'sub1.1', position: null },
      subscribed('sub1.1', 0, false),
      ...msgs('sub1.1', 0, 3),
      { k: 'disconnect', who: 'sub1.1', code: 1006, reason: '', willReconnect: true, t: 2000 },
      subscribed('sub1.1', 3, true),
      ...msgs('sub1.1', 3, 5),
      { k: 'start', s: 'sub1.2', position: { epoch: EPOCH, offset: 5 } },
      subscribed('sub1.2', 5, false),
      ...msgs('sub1.2', 5, 8),
    ],
  };
}

const dirs: string[] = [];
after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function check(logs: Logs): ChaosReport {
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-chaos-check-'));
  dirs.push(dir);
  for (const [name, lines] of Object.entries(logs)) writeFileSync(join(dir, name), lines.map((line) => `${JSON.stringify(line)}\n`).join(''));
  return checkRun(dir);
}

/** The failure counts of a report, to compare in one assertion. */
const failures = (report: ChaosReport) => ({
  lost: report.lost,
  duplicated: report.duplicated,
  reordered: report.reordered,
  phantom: report.phantom,
  unrecovered: report.unrecovered,
  diverged: report.diverged,
  stuck: report.stuck,
  gaveUp: report.gaveUp,
});
const NONE = { lost: 0, duplicated: 0, reordered: 0, phantom: 0, unrecovered: 0, diverged: 0, stuck: 0, gaveUp: 0 };

/** Index of the `msg` line for `{p, n}` in a log. */
const at = (lines: Logs[string], p: string, n: number) => lines.findIndex((line) => line.k === 'msg' && line.p === p && line.n === n);

describe('the chaos checker', () => {
  it('passes a clean run and counts what happened', () => {
    const report = check(cleanRun());
    assert.deepEqual(failures(report), NONE, report.problems.join('\n'));
    assert.equal(report.ok, true);
    assert.deepEqual(
      { published: report.published, acked: report.acked, delivered: report.delivered, faults: report.faults },
      { published: 9, acked: 7, delivered: 16, faults: 3 },
    );
    assert.equal(report.faultsByKind['client-kill'], 2);
    assert.equal(report.faultsByKind.cut, 1);
    assert.deepEqual(report.disconnects, { '4001': 1, '1006': 1 });
    const lines = formatReport(report);
    assert.equal(lines[0], 'chaos seed=7 faults=3 published=9 acked=7 delivered=16 lost=0 duplicated=0 reordered=0');
    assert.ok(lines.includes('result: ok'));
    assert.ok(lines.includes('replay: npm run chaos -- --seed 7 --minutes 0.5 --nodes 2 --publishers 2 --subscribers 2'), lines.join('\n'));
  });

  it('reports an acknowledged message missing from a subscriber as lost', () => {
    const logs = cleanRun();
    logs['sub-1.log']!.splice(at(logs['sub-1.log']!, 'pub1.1', 2), 1);
    const report = check(logs);
    assert.deepEqual(failures(report), { ...NONE, lost: 1 });
    assert.equal(report.ok, false);
    assert.match(report.problems.join('\n'), /lost: pub1\.1 #2 was acknowledged but is not in sub-1\.log/);
    assert.match(formatReport(report)[0]!, / lost=1 duplicated=0 reordered=0$/);
    assert.ok(formatReport(report).includes('result: FAILED'));
  });

  it('reports an unacknowledged message missing before a later one of its stream as lost, and not the missing tail', () => {
    const logs = cleanRun();
    // pub0.1 #1 (acknowledged) and #2 (not) are both present; dropping #2's ack changes nothing,
    // dropping #1 from the log while #2 stays is a hole in the stream.
    logs['pub-0.log'] = logs['pub-0.log']!.filter((line) => !(line.k === 'ack' && line.p === 'pub0.1' && line.n === 1));
    logs['sub-0.log']!.splice(at(logs['sub-0.log']!, 'pub0.1', 1), 1);
    const report = check(logs);
    assert.deepEqual(failures(report), { ...NONE, lost: 1 }, report.problems.join('\n'));
    assert.match(report.problems.join('\n'), /lost: pub0\.1 #1 is not in sub-0\.log, though #2 of the same stream is/);
  });

  it('reports a message delivered twice to one subscriber, even across its incarnations', () => {
    const logs = cleanRun();
    const sub1 = logs['sub-1.log']!;
    sub1.push({ ...(sub1[at(sub1, 'pub0.1', 2)] as SubscriberLine & { k: 'msg' }), s: 'sub1.2' });
    const report = check(logs);
    assert.deepEqual(failures(report), { ...NONE, duplicated: 1 });
    assert.match(report.problems.join('\n'), /duplicated: pub0\.1 #2 again in sub-1\.log \(sub1\.2\)/);
    assert.match(formatReport(report)[0]!, / lost=0 duplicated=1 reordered=0$/);
  });

  it('reports messages of one stream out of order', () => {
    const logs = cleanRun();
    const sub0 = logs['sub-0.log']!;
    const [first, second] = [at(sub0, 'pub1.1', 1), at(sub0, 'pub1.1', 2)];
    [sub0[first], sub0[second]] = [sub0[second]!, sub0[first]!];
    const report = check(logs);
    assert.deepEqual(failures(report), { ...NONE, reordered: 1 });
    assert.match(report.problems.join('\n'), /reordered: pub1\.1 #1 in sub-0\.log .* after #2/);
    assert.match(formatReport(report)[0]!, / lost=0 duplicated=0 reordered=1$/);
  });

  it('reports a delivered message nobody attempted as a phantom', () => {
    const logs = cleanRun();
    logs['sub-0.log']!.push({ k: 'msg', s: 'sub0.1', p: 'pub7.1', n: 0, e: EPOCH, o: 9 });
    const report = check(logs);
    assert.deepEqual(failures(report), { ...NONE, phantom: 1 });
    assert.equal(report.delivered, 17);
    assert.match(formatReport(report)[1]!, /^also phantom=1 /);
    assert.equal(report.ok, false);
  });

  it('reports recovered:false, one offset carrying two messages, and a publish left hanging', () => {
    const logs = cleanRun();
    logs['sub-0.log']!.push({ k: 'subscribed', s: 'sub0.1', epoch: EPOCH, offset: 8, recovering: true, recovered: false, resubscribe: true });
    const sub1 = logs['sub-1.log']!;
    const [first, second] = [at(sub1, 'pub0.1', 0), at(sub1, 'pub1.1', 0)];
    sub1[first] = { ...(sub1[first] as SubscriberLine & { k: 'msg' }), o: 2 };
    sub1[second] = { ...(sub1[second] as SubscriberLine & { k: 'msg' }), o: 1 };
    logs['pub-1.log']!.splice(-1, 0, { k: 'attempt', p: 'pub1.1', n: 3 });
    const report = check(logs);
    assert.deepEqual(failures(report), { ...NONE, unrecovered: 1, diverged: 2, stuck: 1 }, report.problems.join('\n'));
    assert.equal(report.ok, false);
  });

  it('reports a client that closed for good by itself', () => {
    const logs = cleanRun();
    logs['sub-0.log']!.push({ k: 'gave-up', who: 'sub0.1', code: 4409, reason: '', error: 'HoldfastError: the server closed the connection with code 4409', t: 3000 });
    const report = check(logs);
    assert.deepEqual(failures(report), { ...NONE, gaveUp: 1 });
    assert.match(report.problems.join('\n'), /gave up: sub0\.1 in sub-0\.log closed for good by itself \(close 4409/);
    assert.match(formatReport(report)[1]!, / gave-up=1$/);
    assert.equal(report.ok, false);
  });
});
