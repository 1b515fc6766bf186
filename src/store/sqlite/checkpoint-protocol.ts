/** What the store's thread and the checkpoint thread (checkpoint-thread.ts) tell each other. */

/** The checkpoint thread's `workerData`. */
export interface CheckpointThreadData {
  /** The database file (absolute, or relative to the shared working directory). */
  file: string;
  synchronous: 'NORMAL' | 'FULL';
  /** Pause between two checkpoints while the log grows slowly. */
  intervalMs: number;
  /** A log this long (in pages) after a checkpoint asks the store's thread to finish the copy. */
  catchUpPages: number;
  /** ... but only after a checkpoint at most this long, which leaves little to copy. */
  catchUpWithinMs: number;
  /** A log that grew by this many pages since the last checkpoint is checkpointed again at once. */
  burstPages: number;
}

/**
 * From the checkpoint thread: 'ready' once it has the database open; 'catch-up' after a short
 * checkpoint (at most `catchUpWithinMs`) that found the log long (`catchUpPages` or more): little
 * is left to copy, and only the store's connection can copy it with no commit landing meanwhile
 * (see Checkpointer). The store's thread sends only the string 'stop'.
 */
export type CheckpointThreadMessage = { type: 'ready' } | { type: 'catch-up' };
