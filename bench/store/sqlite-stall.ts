/**
 * How long the SQLite store keeps the event loop from running while it removes many rows: fills a
 * fresh database with `rows` messages on one topic (each with a dedupKey whose TTL is 1 ms, as a
 * reliable publish would leave behind), then measures `trim(topic, { maxCount: 0 })` and
 * `sweep()` of the expired ids with a 1 ms setInterval (largest gap between ticks) and
 * perf_hooks.monitorEventLoopDelay({ resolution: 1 }).
 *
 *   node --import tsx bench/store/sqlite-stall.ts --file <new database file> [--rows 1000000]
 *        [--append-batch 10000] [--delete-chunk N]
 *
 * Reports a SqliteStallResult to the parent (bench/run.ts), or prints it when run by hand. The
 * database is closed, not deleted: the caller owns its folder.
 */
import { messageId } from '../../src/client/message-id.js';
import { statSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { SqliteStore } from 'holdfast/store/sqlite';
import type { AppendEntry } from 'holdfast/server';
import { childSafety, type SqliteStallResult, type StallFigures } from '../lib/ipc.js';
import { makePayload } from '../lib/payload.js';

const argv = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const at = argv.indexOf(`--${name}`);
  return at >= 0 ? argv[at + 1] : argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
};
const file = option('file');
if (file === undefined) {
  console.error('usage: node --import tsx bench/store/sqlite-stall.ts --file <database> [--rows N] [--append-batch B] [--delete-chunk C]');
  process.exit(2);
}
const rows = Number(option('rows') ?? 1_000_000);
const appendBatch = Number(option('append-batch') ?? 10_000);
const deleteChunkText = option('delete-chunk');
const deleteChunk = deleteChunkText === undefined ? undefined : Number(deleteChunkText);
const TOPIC = 'bench:stall';

childSafety('sqlite stall', 170_000);

const ms = (ns: number): number => ns / 1e6;
const fileSize = (path: string): number => {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
};

/** Runs `work` with both probes on; `rows` of the result is what `work` resolved with. */
async function watch(work: () => Promise<number>): Promise<StallFigures> {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  let last = performance.now();
  let maxGap = 0;
  let ticks = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
    ticks++;
  }, 1);
  histogram.enable();
  await sleep(20); // both timers running before the work starts
  histogram.reset();
  maxGap = 0;
  ticks = 0;
  last = performance.now();
  const started = performance.now();
  const removed = await work();
  const ended = performance.now();
  maxGap = Math.max(maxGap, ended - last); // the stretch after the last tick counts too
  clearInterval(timer);
  histogram.disable();
  return {
    ms: ended - started,
    rows: removed,
    maxStallMs: maxGap,
    ticks,
    loopDelay: {
      p50: ms(histogram.percentile(50)),
      p99: ms(histogram.percentile(99)),
      max: ms(histogram.max),
      mean: ms(histogram.mean),
      samples: histogram.count,
    },
  };
}

const store = new SqliteStore(deleteChunk === undefined ? { file } : { file, deleteChunk });
try {
  const payload = makePayload(100);
  const fillStarted = performance.now();
  let maxBatchMs = 0;
  for (let done = 0; done < rows; ) {
    const count = Math.min(appendBatch, rows - done);
    const time = Date.now();
    const entries: AppendEntry[] = new Array(count);
    for (let i = 0; i < count; i++) {
      entries[i] = { topic: TOPIC, data: { ...payload, id: done + i }, dedupKey: `\u0000${messageId()}` /* time-ordered, as the client makes them */, dedupTtlMs: 1, time };
    }
    const batchStarted = performance.now();
    await store.append(entries);
    maxBatchMs = Math.max(maxBatchMs, performance.now() - batchStarted);
    done += count;
  }
  const fillMs = performance.now() - fillStarted;
  const fill = { ms: fillMs, rowsPerSecond: (rows * 1000) / fillMs, databaseBytes: fileSize(file), walBytes: fileSize(`${file}-wal`), maxBatchMs };
  console.error(`[bench] sqlite stall: ${rows} rows appended in ${(fillMs / 1000).toFixed(1)} s`);

  const idle = await watch(async () => {
    await sleep(300);
    return 0;
  });
  const policy = { maxCount: 0 };
  const trim = await watch(async () => (await store.trim(TOPIC, policy, Date.now())).removed);
  console.error(`[bench] sqlite stall: trim removed ${trim.rows} rows in ${(trim.ms / 1000).toFixed(1)} s`);
  const sweep = await watch(async () => (await store.sweep(Date.now() + 1000)).ids);
  console.error(`[bench] sqlite stall: sweep removed ${sweep.rows} ids in ${(sweep.ms / 1000).toFixed(1)} s`);

  const result: SqliteStallResult = { rows, appendBatch, deleteChunk, fill, idle, trim: { ...trim, policy }, sweep };
  if (process.send !== undefined) process.send({ type: 'stall', result });
  else console.log(JSON.stringify(result, null, 2));
} finally {
  await store.close();
}
// Let the IPC message go out before the parent sees the exit.
setTimeout(() => process.exit(0), 100);
