import Database from 'better-sqlite3';

/** The lock file's name next to a database: `holdfast.db` → `holdfast.db-lock`. */
export function lockFileOf(file: string): string {
  return `${file}-lock`;
}

/**
 * Holds the "one store per database" lock for as long as it is open.
 *
 * The database itself cannot carry that lock any more: its checkpoints run on a second connection
 * (see checkpointer.ts), which an exclusively locked database would shut out. So the lock lives in
 * a small SQLite file of its own, kept exclusively locked by a connection in EXCLUSIVE locking mode:
 * SQLite's own file locks, so the operating system drops them when the process dies (no stale lock
 * after a crash, unlike a PID file), and a second store in this process is refused too (SQLite
 * tracks its locks per connection, not only per process). The file holds no data and is never
 * deleted: removing a lock file another process may be about to lock is how two owners happen.
 */
export class DatabaseLock {
  private readonly db: Database.Database;

  /** Throws SQLITE_BUSY when another store holds the lock; the caller turns that into DATABASE_LOCKED. */
  constructor(readonly file: string) {
    // No busy timeout: a lock another process holds is an error at start, not a wait.
    const db = new Database(file, { timeout: 0 });
    try {
      db.pragma('locking_mode = EXCLUSIVE');
      // An empty write transaction takes the EXCLUSIVE file lock, which this locking mode then keeps
      // until the connection closes. (A read would only keep a SHARED lock, which a second store
      // could share.)
      db.exec('BEGIN EXCLUSIVE; COMMIT');
    } catch (error) {
      db.close();
      throw error;
    }
    this.db = db;
  }

  release(): void {
    this.db.close();
  }
}
