import type { Database } from 'better-sqlite3';
import { ErrorCode, HoldfastError } from '../../protocol/index.js';

/**
 * The database schema, as migrations: entry i takes a database from version i to i + 1
 * (`PRAGMA user_version`). Released migrations are never edited, only appended to.
 */
const MIGRATIONS: ReadonlyArray<(db: Database) => void> = [
  (db) =>
    db.exec(`
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
      -- head survives trimming every message, so offsets are never reused.
      CREATE TABLE topics (topic TEXT PRIMARY KEY, head INTEGER NOT NULL) WITHOUT ROWID;
      -- A rowid table: rows are appended at its end, and payloads (up to maxPayload) stay out of
      -- the position index, where WITHOUT ROWID would put them, a page or more per message.
      CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        topic TEXT NOT NULL,
        offset INTEGER NOT NULL,
        key TEXT,
        -- the key of a compacted (latest) entry; NULL for every other message
        ckey TEXT,
        data TEXT NOT NULL,
        time INTEGER NOT NULL
      );
      CREATE UNIQUE INDEX messages_position ON messages (topic, offset);
      CREATE INDEX messages_ckey ON messages (topic, ckey) WHERE ckey IS NOT NULL;
      CREATE TABLE dedup (key TEXT PRIMARY KEY, offset INTEGER NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID;
      CREATE INDEX dedup_expiry ON dedup (expires_at);
      CREATE TABLE claims (key TEXT PRIMARY KEY, expires_at INTEGER NOT NULL) WITHOUT ROWID;
      CREATE INDEX claims_expiry ON claims (expires_at);
      -- A rowid table too: a record carries the replies it keeps, which may be large.
      CREATE TABLE sessions (id TEXT PRIMARY KEY, expires_at INTEGER, record TEXT NOT NULL);
      CREATE INDEX sessions_expiry ON sessions (expires_at) WHERE expires_at IS NOT NULL;
    `),
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings the database to the current schema, in one transaction; refuses a newer one. */
export function migrate(db: Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    throw new HoldfastError(
      ErrorCode.DatabaseTooNew,
      `the database has schema version ${version}, written by a newer Holdfast; this one knows versions up to ${SCHEMA_VERSION}`,
    );
  }
  if (version === SCHEMA_VERSION) return;
  db.transaction(() => {
    for (let next = version; next < SCHEMA_VERSION; next++) MIGRATIONS[next]!(db);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}
