import type { Database, Statement } from 'better-sqlite3';

/** Every statement the SQLite store runs. */
const SQL = {
  metaGet: 'SELECT value FROM meta WHERE key = ?',
  metaPut: 'INSERT INTO meta (key, value) VALUES (?, ?)',

  headGet: 'SELECT head FROM topics WHERE topic = ?',
  upsertHead: 'INSERT INTO topics (topic, head) VALUES (?, ?) ON CONFLICT (topic) DO UPDATE SET head = excluded.head',
  firstGet: 'SELECT MIN(offset) AS first FROM messages WHERE topic = ?',

  insertMessage: 'INSERT INTO messages (topic, offset, key, ckey, data, time) VALUES (?, ?, ?, ?, ?, ?)',
  deleteCompacted: 'DELETE FROM messages WHERE topic = ? AND ckey = ?',
  read: 'SELECT offset, key, data, time FROM messages WHERE topic = ? AND offset > ? ORDER BY offset LIMIT ?',
  /** The (n+1)-th newest message: the newest one a count limit of n does not keep. */
  nthNewest: 'SELECT offset FROM messages WHERE topic = ? ORDER BY offset DESC LIMIT 1 OFFSET ?',
  firstFrom: 'SELECT offset, time FROM messages WHERE topic = ? AND offset >= ? ORDER BY offset LIMIT 1',
  deleteRange: 'DELETE FROM messages WHERE topic = ? AND offset BETWEEN ? AND ?',

  dedupGet: 'SELECT offset, expires_at FROM dedup WHERE key = ?',
  dedupPut: 'INSERT OR REPLACE INTO dedup (key, offset, expires_at) VALUES (?, ?, ?)',
  claimGet: 'SELECT expires_at FROM claims WHERE key = ?',
  claimPut: 'INSERT OR REPLACE INTO claims (key, expires_at) VALUES (?, ?)',

  sessionPut: 'INSERT OR REPLACE INTO sessions (id, expires_at, record) VALUES (?, ?, ?)',
  sessionGet: 'SELECT record FROM sessions WHERE id = ?',
  sessionDelete: 'DELETE FROM sessions WHERE id = ?',

  sweepSessions: 'DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE expires_at IS NOT NULL AND expires_at <= ? LIMIT ?)',
  sweepDedup: 'DELETE FROM dedup WHERE key IN (SELECT key FROM dedup WHERE expires_at <= ? LIMIT ?)',
  sweepClaims: 'DELETE FROM claims WHERE key IN (SELECT key FROM claims WHERE expires_at <= ? LIMIT ?)',
} as const;

export type Statements = Record<keyof typeof SQL, Statement>;

/** Prepares every statement once, when the store opens. */
export function statements(db: Database): Statements {
  return Object.fromEntries(Object.entries(SQL).map(([name, sql]) => [name, db.prepare(sql)])) as Statements;
}
