import { Worker } from 'node:worker_threads';
import type { Database } from 'better-sqlite3';
import type { CheckpointThreadData, CheckpointThreadMessage } from './checkpoint-protocol.js';

/**
 * The store connection's auto-checkpoint (in pages of log) while no checkpoint thread runs:
 * SQLite's default, the store's behaviour before the thread existed.
 */
export const MAIN_THREAD_CHECKPOINT_PAGES = 1000;

/**
 * A PASSIVE checkpoint on another connection copies the log but cannot let the writer start it
 * over unless no commit landed while it ran, which under steady traffic (a commit a millisecond) is
 * never: the log would grow without end. So once the log is this long (pages; 16 MB at 4 KiB), the
 * thread asks the store's connection, which commits nothing while it checkpoints, to copy the few
 * pages committed during the thread's last (short) checkpoint: then the next commit starts the log
 * over. A few pages and two small fsyncs on the event loop, every 4000 pages instead of a full
 * checkpoint every 1000.
 */
export const CATCH_UP_PAGES = 4000;
/** ... only after a thread's checkpoint this short (ms), so that little is left to copy. */
export const CATCH_UP_WITHIN_MS = 5;

/**
 * The store connection's auto-checkpoint while the thread runs: a backstop for when the writes
 * outrun the thread's checkpoints (large trims and sweeps write the log faster than a disk takes
 * them) and no checkpoint of the thread is short enough for a catch-up. The thread has copied most
 * of the log by then, so it costs less than a full checkpoint of that size.
 */
export const BACKSTOP_CHECKPOINT_PAGES = 10_000;

/** Pause between two checkpoints of the thread while the log grows slowly. */
export const CHECKPOINT_INTERVAL_MS = 100;
/** Log growth (pages) between two checkpoints of the thread after which it checkpoints again at once. */
export const BURST_PAGES = 1000;

/** Where checkpoints run: 'thread' once the thread is up, 'main' before that and after a failure. */
export type CheckpointSite = 'thread' | 'main';

export interface CheckpointerOptions {
  /** The database file the store's connection has open (not ':memory:'). */
  file: string;
  synchronous: 'NORMAL' | 'FULL';
  /** @default CHECKPOINT_INTERVAL_MS */
  intervalMs?: number;
  /** Told when the thread cannot start or dies; the checkpoints go on on the store's connection. */
  onError: (error: unknown) => void;
  /** The thread's entry module. @default checkpoint-thread.js next to this module */
  entry?: URL;
}

/**
 * Runs the store's WAL checkpoints on a worker thread with its own connection, so that their
 * fsyncs do not block the event loop (they were the store's p99 latency). Falls back to SQLite's
 * auto-checkpoint on the store's connection when the thread cannot start or dies: the log is
 * never left to grow without bound.
 */
export class Checkpointer {
  /** Settles once checkpoints run on the thread, or on the store's connection after a failure. */
  readonly started: Promise<CheckpointSite>;
  private worker: Worker | undefined;
  private stopped = false;
  private fellBack = false;
  private settle: (site: CheckpointSite) => void = () => undefined;

  constructor(
    private readonly db: Database,
    options: CheckpointerOptions,
  ) {
    this.started = new Promise((resolve) => (this.settle = resolve));
    // Until the thread says it is ready, the store's connection checkpoints as it always did.
    db.pragma(`wal_autocheckpoint = ${MAIN_THREAD_CHECKPOINT_PAGES}`);
    const data: CheckpointThreadData = {
      file: options.file,
      synchronous: options.synchronous,
      intervalMs: options.intervalMs ?? CHECKPOINT_INTERVAL_MS,
      catchUpPages: CATCH_UP_PAGES,
      catchUpWithinMs: CATCH_UP_WITHIN_MS,
      burstPages: BURST_PAGES,
    };
    const onError = options.onError;
    let worker: Worker;
    try {
      worker = startThread(options.entry ?? defaultEntry(), data);
    } catch (error) {
      this.fallBack(error, onError);
      return;
    }
    this.worker = worker;
    worker.unref(); // like an open database, the thread does not keep the process alive
    worker.on('message', (message: CheckpointThreadMessage) => {
      if (this.stopped || this.worker !== worker) return;
      if (message.type === 'ready') {
        db.pragma(`wal_autocheckpoint = ${BACKSTOP_CHECKPOINT_PAGES}`);
        this.settle('thread');
      } else if (message.type === 'catch-up') {
        this.catchUp(onError);
      }
    });
    worker.on('error', (error) => this.fallBack(error, onError));
    worker.on('exit', (code) => this.fallBack(new Error(`the checkpoint thread exited with code ${code}`), onError));
  }

  /**
   * Stops the thread and waits until it has closed its connection, so that the store's connection
   * is the last one and its final checkpoint can empty the log.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.settle('main');
    const worker = this.worker;
    this.worker = undefined;
    if (worker === undefined) return;
    worker.ref(); // the caller awaits the exit, even when nothing else keeps the process alive
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage('stop');
    // A thread that does not answer (stuck in a slow fsync) is terminated; its connection closes with it.
    const timer = setTimeout(() => void worker.terminate(), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }

  /**
   * Copies what the thread could not (what was committed while it copied) on the store's
   * connection, which commits nothing meanwhile: the log is then wholly in the database, and the
   * next commit starts it over. The thread has just copied the rest, so this is short.
   */
  private catchUp(onError: (error: unknown) => void): void {
    try {
      this.db.pragma('wal_checkpoint(PASSIVE)');
    } catch (error) {
      onError(error); // as an auto-checkpoint's failure would be: the next commit still works
    }
  }

  /** Once only, and never after stop(): the store's connection takes the checkpoints back. */
  private fallBack(error: unknown, onError: (error: unknown) => void): void {
    if (this.stopped || this.fellBack) return;
    this.fellBack = true;
    const worker = this.worker;
    this.worker = undefined;
    if (worker !== undefined) void worker.terminate();
    this.db.pragma(`wal_autocheckpoint = ${MAIN_THREAD_CHECKPOINT_PAGES}`);
    this.settle('main');
    onError(new Error(`the SQLite checkpoint thread failed, so checkpoints run on the main thread again: ${describeError(error)}`, { cause: error }));
  }
}

const STOP_GRACE_MS = 2000;

/**
 * checkpoint-thread.js next to this module in the built package; checkpoint-thread.ts when this
 * module itself runs from source (the tests, under tsx).
 */
function defaultEntry(): URL {
  return new URL(import.meta.url.endsWith('.ts') ? './checkpoint-thread.ts' : './checkpoint-thread.js', import.meta.url);
}

function startThread(entry: URL, workerData: CheckpointThreadData): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, { workerData });
  // From source only. Node 20 does not run a parent's `--import tsx` in a worker, so a TypeScript
  // entry would fail with ERR_UNKNOWN_FILE_EXTENSION: the thread registers tsx itself, then loads it.
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(bootstrap, { eval: true, workerData });
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
