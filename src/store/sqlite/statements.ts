import type { Database, Statement } from 'better-sqlite3';

/** Every statement the SQLite store runs. */
const SQL = {
  metaGet: 'SELECT value FROM meta WHERE key = ?',
  metaPut: 'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',

  topicGet: 'SELECT head, epoch FROM topics WHERE topic = ?',
  topicCount: 'SELECT COUNT(*) AS n FROM topics',
  /** A topic's epoch is set when its row is created and never changes while it exists. */
  upsertTopic: 'INSERT INTO topics (topic, head, epoch) VALUES (?, ?, ?) ON CONFLICT (topic) DO UPDATE SET head = excluded.head',
  topicDelete: 'DELETE FROM topics WHERE topic = ?',
  firstGet: 'SELECT MIN(offset) AS first FROM messages WHERE topic = ?',

  insertMessage: 'INSERT INTO messages (topic, offset, key, ckey, data, time) VALUES (?, ?, ?, ?, ?, ?)',
  deleteCompacted: 'DELETE FROM messages WHERE topic = ? AND ckey = ?',
  /** Uses the partial index messages_ckey: as many steps as the topic has keys. */
  keyCount: 'SELECT COUNT(*) AS n FROM messages WHERE topic = ? AND ckey IS NOT NULL',
  read: 'SELECT offset, key, data, time FROM messages WHERE topic = ? AND offset > ? ORDER BY offset LIMIT ?',
  /** The (n+1)-th newest message: the newest one a count limit of n does not keep. */
  nthNewest: 'SELECT offset FROM messages WHERE topic = ? ORDER BY offset DESC LIMIT 1 OFFSET ?',
  firstFrom: 'SELECT offset, time FROM messages WHERE topic = ? AND offset >= ? ORDER BY offset LIMIT 1',
  deleteRange: 'DELETE FROM messages WHERE topic = ? AND offset BETWEEN ? AND ?',

  dedupGet: 'SELECT offset, expires_at FROM dedup WHERE key = ?',
  dedupPut: 'INSERT OR REPLACE INTO dedup (key, offset, expires_at) VALUES (?, ?, ?)',
  claimGet: 'SELECT expires_at FROM claims WHERE key = ?',
  claimPut: 'INSERT OR REPLACE INTO claims (key, expires_at) VALUES (?, ?)',

  sessionCreate: 'INSERT INTO sessions (id, expires_at, version, state) VALUES (?, ?, 1, ?) ON CONFLICT (id) DO NOTHING',
  /** A takeover: the patch sets the new token hashes (null removes previousTokenHash). */
  sessionTake: 'UPDATE sessions SET version = version + 1, expires_at = ?, state = json_patch(state, ?) WHERE id = ? AND version = ?',
  /** An incremental save of the ledger: json_patch is an RFC 7396 merge patch of the state. */
  sessionPatch: 'UPDATE sessions SET expires_at = ?, state = json_patch(state, ?) WHERE id = ? AND version = ?',
  // Without expires_at in SET: SQLite rewrites an index entry for every indexed column SET names,
  // changed or not, and the expiry index is a page of its own in the write-ahead log.
  sessionPatchState: 'UPDATE sessions SET state = json_patch(state, ?) WHERE id = ? AND version = ?',
  sessionAt: 'SELECT 1 AS found FROM sessions WHERE id = ? AND version = ?',
  sessionGet: 'SELECT expires_at, version, state FROM sessions WHERE id = ?',
  sessionDeleteAt: 'DELETE FROM sessions WHERE id = ? AND version = ?',
  sessionDelete: 'DELETE FROM sessions WHERE id = ?',
  replyPut: 'INSERT INTO session_replies (session, seq, reply) VALUES (?, ?, ?) ON CONFLICT (session, seq) DO UPDATE SET reply = excluded.reply',
  replyDelete: 'DELETE FROM session_replies WHERE session = ? AND seq = ?',
  repliesGet: 'SELECT reply FROM session_replies WHERE session = ? ORDER BY seq',
  repliesDelete: 'DELETE FROM session_replies WHERE session = ?',
  cursorPut:
    'INSERT INTO session_cursors (session, topic, epoch, offset) VALUES (?, ?, ?, ?) ON CONFLICT (session, topic) DO UPDATE SET epoch = excluded.epoch, offset = excluded.offset',
  cursorDelete: 'DELETE FROM session_cursors WHERE session = ? AND topic = ?',
  cursorsGet: 'SELECT topic, epoch, offset FROM session_cursors WHERE session = ?',
  cursorsDelete: 'DELETE FROM session_cursors WHERE session = ?',

  requestGet: 'SELECT state, outcome, lease_until, expires_at FROM requests WHERE key = ?',
  requestStart: "INSERT OR REPLACE INTO requests (key, state, outcome, lease_until, expires_at) VALUES (?, 'running', NULL, ?, ?)",
  /** A lease that ran out stays out: the run was reported lost. */
  requestRenew: "UPDATE requests SET lease_until = ? WHERE key = ? AND state = 'running' AND lease_until > ? AND expires_at > ?",
  requestComplete:
    "INSERT INTO requests (key, state, outcome, lease_until, expires_at) VALUES (?, 'done', ?, ?, ?) ON CONFLICT (key) DO UPDATE SET state = 'done', outcome = excluded.outcome, lease_until = excluded.lease_until, expires_at = excluded.expires_at",
  requestConfirm: "UPDATE requests SET state = 'confirmed', outcome = NULL WHERE key = ? AND state = 'done'",

  /** Replies of expired sessions, a step at a time; their sessions go next (sweepSessions). */
  sweepReplies:
    'DELETE FROM session_replies WHERE id IN (SELECT r.id FROM sessions AS s JOIN session_replies AS r ON r.session = s.id WHERE s.expires_at <= ? LIMIT ?)',
  /** Cursors of expired sessions, a step at a time, like their replies. */
  sweepCursors:
    'DELETE FROM session_cursors WHERE (session, topic) IN (SELECT c.session, c.topic FROM sessions AS s JOIN session_cursors AS c ON c.session = s.id WHERE s.expires_at <= ? LIMIT ?)',
  expiredSessions: 'SELECT id FROM sessions WHERE expires_at <= ? LIMIT ?',
  sweepDedup: 'DELETE FROM dedup WHERE key IN (SELECT key FROM dedup WHERE expires_at <= ? LIMIT ?)',
  sweepRequests: 'DELETE FROM requests WHERE key IN (SELECT key FROM requests WHERE expires_at <= ? LIMIT ?)',
  sweepClaims: 'DELETE FROM claims WHERE key IN (SELECT key FROM claims WHERE expires_at <= ? LIMIT ?)',
} as const;

export type Statements = Record<keyof typeof SQL, Statement>;

/** Prepares every statement once, when the store opens. */
export function statements(db: Database): Statements {
  return Object.fromEntries(Object.entries(SQL).map(([name, sql]) => [name, db.prepare(sql)])) as Statements;
}
