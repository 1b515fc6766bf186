/**
 * What a session save costs the SQLite store when the session keeps many replies: saves a session
 * with `replies` kept replies, then `saves` saves that each confirm (remove) one of them, as the hub
 * does on every client ack, and reports the bytes the process wrote meanwhile (`wchar` of
 * /proc/self/io: the write-ahead log, plus checkpoints copying it into the database) and the
 * database's page count. A save must cost in proportion to what changed, not to what is kept.
 *
 * With `--cursors N`, the session also has N subscription cursors and each save moves one of them
 * (an ack of one topic's messages): a save writes that cursor, not the N. With `--churn`, each save
 * also subscribes to one more topic or unsubscribes from it, in turn: a cursor added or removed.
 * With `--offsets-only`, a save moves a cursor and nothing else, as a client's `ack {offsets}` does
 * (without it, each save also moves the ledger, as a publish acknowledged in the same turn would).
 *
 *   node --import tsx bench/store/session-saves.ts --file <new database file> [--replies 10000] [--saves 1000] [--cursors 0] [--churn] [--offsets-only]
 *
 * Linux only (reads /proc/self/io). The database is closed, not deleted.
 */
import { readFileSync, statSync } from 'node:fs';
import { SqliteStore } from '../../src/store/sqlite/index.js';
import type { Cursor, KeptReply, SessionState } from '../../src/store/types.js';

const argv = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const at = argv.indexOf(`--${name}`);
  return at >= 0 ? argv[at + 1] : undefined;
};
const file = option('file');
if (file === undefined) {
  console.error('usage: node --import tsx bench/store/session-saves.ts --file <database> [--replies N] [--saves M] [--cursors N] [--churn]');
  process.exit(2);
}
const replyCount = Number(option('replies') ?? 10_000);
const saves = Number(option('saves') ?? 1_000);
const cursorCount = Number(option('cursors') ?? 0);
const churn = argv.includes('--churn');
const offsetsOnly = argv.includes('--offsets-only');

/** Bytes this process handed to write(2) so far. */
const written = (): number => Number(/wchar:\s*(\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))![1]);

const store = new SqliteStore({ file });
const topic = (i: number): string => `room:${String(i % cursorCount).padStart(4, '0')}`;
const cursors = Object.fromEntries(Array.from({ length: cursorCount }, (_, i) => [topic(i), { epoch: 'a1b2c3d4-e5f6-4788-99aa-bbccddeeff00', offset: 1 }]));
const state: SessionState = { id: 'bench-session', identity: 'ann', tokenHash: 'ab'.repeat(32), expiresAt: Date.now() + 120_000, version: 1, lastSeq: 0, doneAbove: [], cursors };
const reply = (seq: number): KeptReply => ({ seq, id: `req-${seq}`, ok: true, data: { seq, text: 'a typical small handler result' } });
try {
  await store.createSession(state);
  if (replyCount > 0) await store.saveSessions([{ id: state.id, version: 1, addReplies: Array.from({ length: replyCount }, (_, i) => reply(i + 1)) }]);
  const before = written();
  const started = performance.now();
  // What an ack writes: the ledger moved, one reply confirmed (removed) or one cursor moved, the lease renewed.
  for (let i = 1; i <= saves; i++) {
    const changed: Record<string, Cursor | null> = {};
    if (cursorCount > 0) changed[topic(i)] = { epoch: 'a1b2c3d4-e5f6-4788-99aa-bbccddeeff00', offset: i + 1 };
    if (churn) changed['room:extra'] = i % 2 === 1 ? { epoch: 'a1b2c3d4-e5f6-4788-99aa-bbccddeeff00', offset: i } : null;
    const confirmed = i <= replyCount ? { removeReplies: [i] } : {};
    // No expiresAt: the hub renews a held session's lease halfway through sessionTtl, not with every save.
    const ledger = offsetsOnly ? {} : { ledger: { lastSeq: replyCount + i, doneAbove: [] } };
    await store.saveSessions([{ id: state.id, version: 1, ...ledger, ...(Object.keys(changed).length > 0 ? { cursors: changed } : {}), ...confirmed }]);
  }
  const ms = performance.now() - started;
  const bytes = written() - before;
  const kept = (await store.loadSession(state.id))?.replies.length;
  console.log(JSON.stringify({ replies: replyCount, cursors: cursorCount, churn, offsetsOnly, saves, kept, bytesWritten: bytes, bytesPerSave: Math.round(bytes / saves), msPerSave: +(ms / saves).toFixed(3), databaseBytes: statSync(file).size }));
} finally {
  await store.close();
}
