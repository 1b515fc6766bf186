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
  (db) => {
    // Per-topic epochs, so a topic trimmed to nothing can be forgotten and start a new history.
    // Existing topics keep the database's epoch: their clients go on recovering. The epoch is
    // created here when v1 never got to write it (its topics table is empty then).
    db.prepare("INSERT OR IGNORE INTO meta (key, value) VALUES ('epoch', ?)").run(globalThis.crypto.randomUUID());
    db.exec(`
      CREATE TABLE topics_v2 (topic TEXT PRIMARY KEY, head INTEGER NOT NULL, epoch TEXT NOT NULL) WITHOUT ROWID;
      INSERT INTO topics_v2 (topic, head, epoch) SELECT topic, head, (SELECT value FROM meta WHERE key = 'epoch') FROM topics;
      DROP TABLE topics;
      ALTER TABLE topics_v2 RENAME TO topics;
      -- How many topics were forgotten: each one moves the epoch of new topics on.
      INSERT OR IGNORE INTO meta (key, value) VALUES ('forgotten', '0');
    `);
    // Kept replies get rows of their own, so confirming one costs a row, not a rewrite of every
    // reply the session keeps. A rowid table with a unique index, like messages: a reply carries
    // application data, which WITHOUT ROWID would put in the index, a page or more per reply.
    //
    // A v1 session with no expiry was held by a connection when its server stopped (a crash, or
    // the server running when this one was upgraded). It gets the default sessionTtl (120 s) from
    // now rather than expiring at once: its client, reconnecting to the upgraded server, resumes
    // it as it would have before, and one that does not come back is swept two minutes later.
    db.exec(`
      -- the session's state: small (no replies), a rowid table all the same, as in v1
      CREATE TABLE sessions_v2 (id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL, state TEXT NOT NULL);
      CREATE TABLE session_replies (
        id INTEGER PRIMARY KEY,
        session TEXT NOT NULL,
        seq INTEGER NOT NULL,
        reply TEXT NOT NULL
      );
      CREATE UNIQUE INDEX session_replies_seq ON session_replies (session, seq);
      INSERT OR REPLACE INTO session_replies (session, seq, reply)
        SELECT s.id, json_extract(r.value, '$.seq'), json(r.value)
        FROM sessions AS s, json_each(s.record, '$.replies') AS r;
    `);
    db.prepare(
      `INSERT INTO sessions_v2 (id, expires_at, state)
        SELECT id, COALESCE(expires_at, :held), json_remove(json_set(record, '$.expiresAt', COALESCE(expires_at, :held)), '$.replies')
        FROM sessions`,
    ).run({ held: Date.now() + V1_HELD_SESSION_TTL_MS });
    db.exec(`
      DROP TABLE sessions;
      ALTER TABLE sessions_v2 RENAME TO sessions;
      CREATE INDEX sessions_expiry ON sessions (expires_at);
    `);
  },
  // Sessions held through versioned leases (existing ones are at version 1; the column is the
  // truth, not the state JSON), their cursors in rows of their own, and request runs by id, each
  // with its lease and expiry.
  (db) =>
    db.exec(`
      ALTER TABLE sessions ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
      -- A cursor a row, so a save writes the cursors that changed: in the state JSON (8 KB with
      -- 100 cursors, over overflow pages) a change of its length (a subscribe, an unsubscribe, an
      -- offset one digit longer) rewrote it whole. WITHOUT ROWID: the rows are small (a topic, an
      -- epoch, an offset) and live in the key's b-tree, with no rowid table beside it to write too.
      CREATE TABLE session_cursors (
        session TEXT NOT NULL,
        topic TEXT NOT NULL,
        epoch TEXT NOT NULL,
        offset INTEGER NOT NULL,
        PRIMARY KEY (session, topic)
      ) WITHOUT ROWID;
      INSERT INTO session_cursors (session, topic, epoch, offset)
        SELECT s.id, c.key, c.value ->> '$.epoch', c.value ->> '$.offset'
        FROM sessions AS s, json_each(s.state -> '$.cursors') AS c;
      -- The rows are the truth for cursors: the state JSON keeps none.
      UPDATE sessions SET state = json_remove(state, '$.cursors');
      -- A rowid table, like messages: an outcome carries application data.
      CREATE TABLE requests (
        key TEXT PRIMARY KEY,
        -- 'running', 'done' (outcome is its JSON) or 'confirmed' (outcome forgotten)
        state TEXT NOT NULL,
        outcome TEXT,
        lease_until INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      );
      CREATE INDEX requests_expiry ON requests (expires_at);
    `),
];

/** The server's default sessionTtl: what a session held when a v1 server stopped gets (migration v2). */
const V1_HELD_SESSION_TTL_MS = 120_000;

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
