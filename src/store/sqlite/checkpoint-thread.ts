/**
 * The checkpoint thread (a worker_threads entry; started by checkpointer.ts, never imported).
 *
 * Copies the write-ahead log into the database on its own connection, so that the copy and its
 * fsyncs, which take milliseconds, never hold up the event loop of the store's thread. PASSIVE:
 * it takes no lock a writer or reader waits for, and copies what it can without waiting.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { CheckpointThreadData, CheckpointThreadMessage } from './checkpoint-protocol.js';

const { file, synchronous, intervalMs, catchUpPages, catchUpWithinMs, burstPages } = workerData as CheckpointThreadData;
const port = parentPort!;
const send = (message: CheckpointThreadMessage): void => port.postMessage(message);

// A short busy timeout for opening only: checkpoints themselves never wait in PASSIVE mode.
const db = new Database(file, { fileMustExist: true, timeout: 1000 });
// The checkpoint's fsyncs follow this connection's setting: the same as the store's, so that a
// checkpoint is as durable as before (the database is synced before the log can be reused).
db.pragma(`synchronous = ${synchronous}`);
db.pragma('wal_autocheckpoint = 0'); // it never writes, but make sure it never checkpoints on its own

interface CheckpointResult {
  busy: number;
  /** Pages in the log. */
  log: number;
  /** Pages of it copied into the database. */
  checkpointed: number;
}

let previousLog = 0;
let timer: NodeJS.Timeout | undefined;

/**
 * One PASSIVE checkpoint. An exception ends the thread with an 'error' event, on which the store
 * takes the checkpoints back on its own connection.
 */
function checkpoint(): void {
  const started = performance.now();
  const [result] = db.pragma('wal_checkpoint(PASSIVE)') as CheckpointResult[];
  const short = performance.now() - started <= catchUpWithinMs;
  const log = result?.log ?? 0;
  // Copied up to the log's end as it was when this checkpoint began; the store went on committing
  // meanwhile, so under steady traffic the log never starts over by itself (see Checkpointer).
  // What is left is what was committed during this checkpoint: little after a short one.
  const long = log >= catchUpPages;
  if (long && short) send({ type: 'catch-up' });
  // A log that grows fast (a large trim, a burst) is followed closely, so that what is left to copy
  // stays small, and so is a long one until a checkpoint is short; a slow one waits, sparing the
  // disk an fsync pair per commit.
  const grew = log - previousLog;
  previousLog = log;
  timer = setTimeout(checkpoint, grew >= burstPages || (long && !short) ? 0 : intervalMs);
}

checkpoint(); // opens the log now: a database it cannot use fails here, not later

port.on('message', (message: 'stop') => {
  if (message !== 'stop') return;
  clearTimeout(timer);
  db.close();
  port.close(); // nothing left to keep the thread alive: it exits with code 0
});
send({ type: 'ready' });
