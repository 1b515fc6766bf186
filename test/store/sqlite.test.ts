import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { ErrorCode } from '../../src/protocol/codes.js';
import { isHoldfastError } from '../../src/protocol/errors.js';
import { SCHEMA_VERSION, SqliteStore } from '../../src/store/sqlite/index.js';
import { isRefusal } from '../../src/store/types.js';
import { appendOk } from '../support/append.js';
import { storeConformance } from './conformance.js';

const folder = mkdtempSync(join(tmpdir(), 'holdfast-sqlite-'));
after(() => rmSync(folder, { recursive: true, force: true }));
let files = 0;

/** Each store gets its own file: the conformance suite needs isolated stores. */
// One instance per database (a lock file keeps a second out): the tests of several instances do not apply.
storeConformance('sqlite', (limits) => ({ store: new SqliteStore({ file: join(folder, `conformance-${files++}.db`), deleteChunk: 7, ...limits }) }));

describe('SqliteStore', () => {
  it('keeps messages, heads and the epoch across reopening the file', async () => {
    const file = join(folder, 'reopen.db');
    const first = new SqliteStore({ file });
    await first.append([1, 2, 3].map((i) => ({ topic: 't', data: { i }, time: i })));
    await first.trim('t', { maxCount: 1 }, 10);
    await first.close();
    const second = new SqliteStore({ file });
    assert.equal(second.epoch, first.epoch, 'same history, same epoch');
    assert.deepEqual(await second.info('t'), { epoch: first.epoch, head: 3, first: 3 });
    const [outcome] = await appendOk(second, [{ topic: 't', data: 'four', time: 4 }]);
    assert.deepEqual(outcome, { offset: 4, epoch: first.epoch, duplicate: false });
    await second.close();
  });

  it('keeps forgetting across reopening: the next epoch, and the epochs of recreated topics', async () => {
    const file = join(folder, 'forget-reopen.db');
    const first = new SqliteStore({ file });
    await appendOk(first, [{ topic: 'gone', data: 1, time: 1 }, { topic: 'kept', data: 1, time: 1 }]);
    assert.deepEqual(await first.trim('gone', { maxCount: 0 }, 10), { removed: 1 });
    const [recreated] = await appendOk(first, [{ topic: 'gone', data: 2, time: 2 }]);
    assert.deepEqual(recreated, { offset: 1, epoch: `${first.epoch}.1`, duplicate: false });
    await first.trim('gone', { maxCount: 0 }, 10);
    await first.close();
    const second = new SqliteStore({ file });
    assert.equal((await second.info('gone')).epoch, `${first.epoch}.2`, 'the forget counter survived');
    assert.deepEqual(await second.info('kept'), { epoch: first.epoch, head: 1, first: 1 });
    await appendOk(second, [{ topic: 'new', data: 1, time: 3 }]);
    await second.close();
    const third = new SqliteStore({ file });
    assert.equal((await third.info('new')).epoch, `${first.epoch}.2`, 'a topic keeps the epoch it was created with');
    await third.close();
  });

  it('counts its topics at open, for maxTopics', async () => {
    const file = join(folder, 'max-topics.db');
    const first = new SqliteStore({ file });
    await appendOk(first, ['a', 'b', 'c'].map((topic) => ({ topic, data: 1, time: 1 })));
    await first.close();
    const second = new SqliteStore({ file, maxTopics: 3 });
    const refused = await second.append([{ topic: 'd', data: 1, time: 2 }, { topic: 'a', data: 2, time: 2 }]);
    assert.deepEqual(refused.map((r) => (isRefusal(r) ? r.refused.code : r.offset)), [ErrorCode.TooManyTopics, 2]);
    await second.trim('b', { maxCount: 0 }, 3);
    assert.deepEqual((await appendOk(second, [{ topic: 'd', data: 1, time: 4 }]))[0]?.offset, 1, 'a forgotten topic freed its place');
    await second.close();
  });

  it('sweeps the replies of an expired session in steps, yielding to the event loop between them', async () => {
    // Guards the chunking of the sweep: a session keeping 10,000 replies must not be removed in one stall.
    const store = new SqliteStore({ file: join(folder, 'sweep-steps.db'), deleteChunk: 10 });
    try {
      const state = { id: 's', identity: null, tokenHash: 'ab'.repeat(32), expiresAt: 100, version: 1, lastSeq: 0, doneAbove: [], cursors: {} };
      await store.createSession(state);
      await store.saveSessions([{ id: 's', version: 1, addReplies: Array.from({ length: 300 }, (_, i) => ({ seq: i + 1, ok: true })) }]);
      let turns = 0;
      let counting = true;
      const count = () => {
        turns++;
        if (counting) setImmediate(count);
      };
      setImmediate(count);
      const swept = await store.sweep(100);
      counting = false;
      assert.deepEqual(swept, { sessions: 1, ids: 0 });
      assert.ok(turns >= 25, `the event loop ran between the steps (${turns} turns for 30 steps)`);
      assert.equal(await store.loadSession('s'), undefined);
    } finally {
      await store.close();
    }
  });

  it('keeps cursors in rows of their own: a stale update writes none, and no session leaves any behind', async () => {
    // Guards the rows the version check does not see: cursor rows are written after it, by the store.
    const file = join(folder, 'cursor-rows.db');
    const store = new SqliteStore({ file, deleteChunk: 7 });
    const cursorRows = () => {
      const raw = new Database(file, { readonly: true });
      try {
        return raw.prepare('SELECT session, topic, epoch, offset FROM session_cursors ORDER BY session, topic').all();
      } finally {
        raw.close();
      }
    };
    const cursors = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`t${i}`, { epoch: 'e', offset: i }]));
    const state = (id: string, expiresAt: number, n: number) => ({ id, identity: null, tokenHash: 'ab'.repeat(32), expiresAt, version: 1, lastSeq: 0, doneAbove: [], cursors: cursors(n) });
    try {
      assert.equal(await store.createSession(state('a', 100, 2)), true);
      assert.equal(await store.createSession(state('a', 100, 5)), false);
      assert.deepEqual(cursorRows(), [
        { session: 'a', topic: 't0', epoch: 'e', offset: 0 },
        { session: 'a', topic: 't1', epoch: 'e', offset: 1 },
      ], 'a refused create writes no cursor row');

      assert.equal(await store.takeSession('a', 1, { tokenHash: 'cd'.repeat(32), expiresAt: 100 }), 2);
      const stale = await store.saveSessions([
        { id: 'a', version: 1, cursors: { t0: null, t9: { epoch: 'e', offset: 9 } } },
        { id: 'a', version: 1, expiresAt: 50, cursors: { t1: { epoch: 'x', offset: 7 } } },
        { id: 'gone', version: 1, cursors: { t0: { epoch: 'e', offset: 1 } } },
      ]);
      assert.deepEqual(stale, [false, false, false]);
      assert.equal(cursorRows().length, 2, 'stale and missing sessions get no cursor rows');
      assert.deepEqual(await store.saveSessions([{ id: 'a', version: 2, cursors: { t0: null, t1: { epoch: 'x', offset: 7 } } }]), [true]);
      assert.deepEqual(cursorRows(), [{ session: 'a', topic: 't1', epoch: 'x', offset: 7 }]);

      await store.deleteSession('a', 1);
      assert.equal(cursorRows().length, 1, 'a stale delete keeps the rows');
      await store.deleteSession('a', 2);
      assert.deepEqual(cursorRows(), [], 'a delete takes the rows with it');

      // Swept in steps of 7 rows (deleteChunk), and a session not yet expired keeps its rows.
      for (const id of ['x', 'y', 'z']) await store.createSession(state(id, 100, 30));
      await store.createSession(state('live', 1_000, 3));
      assert.deepEqual(await store.sweep(100), { sessions: 3, ids: 0 });
      assert.deepEqual(cursorRows().map((row) => (row as { session: string }).session), ['live', 'live', 'live']);
      assert.deepEqual(Object.keys((await store.loadSession('live'))?.cursors ?? {}), ['t0', 't1', 't2']);
    } finally {
      await store.close();
    }
  });

  it('saves sessions on a database that messages filled up to maxSizeBytes, and still refuses appends', async () => {
    // Guards the sessions' reserve: kept replies (STORE_FULL ones among them) are rows that need new
    // pages, and without room for them no reply could be saved, nor sent, until space was freed.
    const store = new SqliteStore({ file: join(folder, 'full.db'), maxSizeBytes: 200 * 1024 });
    const full = (error: unknown) => isHoldfastError(error) && error.code === ErrorCode.StoreFull;
    try {
      let fills = 0;
      for (;;) {
        const batch = Array.from({ length: 20 }, (_, i) => ({ topic: 't', data: 'x'.repeat(200), dedupKey: `k${fills}-${i}`, time: 1 }));
        if (await store.append(batch).then(() => false, (error: unknown) => (full(error) ? true : Promise.reject(error)))) break;
        fills++;
      }
      assert.ok(fills > 5, `messages filled the database (${fills} batches)`);
      const state = { id: 's', identity: null, tokenHash: 'ab'.repeat(32), expiresAt: 100, version: 1, lastSeq: 0, doneAbove: [], cursors: {} };
      assert.equal(await store.createSession(state), true);
      const refused = { ok: false, error: { code: ErrorCode.StoreFull, message: 'the database is full' } };
      for (let round = 0; round < 5; round++) {
        const seqs = Array.from({ length: 40 }, (_, i) => round * 40 + i + 1);
        assert.deepEqual(await store.saveSessions([{ id: 's', version: 1, addReplies: seqs.map((seq) => ({ seq, ...refused })) }]), [true]);
        for (const seq of seqs) {
          assert.deepEqual(await store.claimRequest(`r${seq}`, 1, 100, 1000), { state: 'new' });
          await store.completeRequest(`r${seq}`, refused, 2, 1000);
        }
      }
      assert.equal((await store.loadSession('s'))?.replies.length, 200);
      assert.deepEqual(await store.claimRequest('r200', 3, 100, 1000), { state: 'done', outcome: refused }, 'request runs use the reserve too');
      await assert.rejects(store.append([{ topic: 't', data: 'x'.repeat(4000), time: 2 }]), full, 'appends get none of the reserve');
    } finally {
      await store.close();
    }
  });
});

/** The schema of version 1, as released (migrations are never edited, so neither is this). */
const V1_SCHEMA = `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
  CREATE TABLE topics (topic TEXT PRIMARY KEY, head INTEGER NOT NULL) WITHOUT ROWID;
  CREATE TABLE messages (id INTEGER PRIMARY KEY, topic TEXT NOT NULL, offset INTEGER NOT NULL, key TEXT, ckey TEXT, data TEXT NOT NULL, time INTEGER NOT NULL);
  CREATE UNIQUE INDEX messages_position ON messages (topic, offset);
  CREATE INDEX messages_ckey ON messages (topic, ckey) WHERE ckey IS NOT NULL;
  CREATE TABLE dedup (key TEXT PRIMARY KEY, offset INTEGER NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID;
  CREATE INDEX dedup_expiry ON dedup (expires_at);
  CREATE TABLE claims (key TEXT PRIMARY KEY, expires_at INTEGER NOT NULL) WITHOUT ROWID;
  CREATE INDEX claims_expiry ON claims (expires_at);
  CREATE TABLE sessions (id TEXT PRIMARY KEY, expires_at INTEGER, record TEXT NOT NULL);
  CREATE INDEX sessions_expiry ON sessions (expires_at) WHERE expires_at IS NOT NULL;
  PRAGMA user_version = 1;
`;

describe('SqliteStore migration from schema version 1', () => {
  const v1Record = <E extends number | null>(id: string, expiresAt: E, replies: unknown[]) => ({
    id,
    identity: 'ann',
    tokenHash: 'ab'.repeat(32),
    expiresAt,
    lastSeq: 2,
    doneAbove: [4],
    replies,
    cursors: { chat: { epoch: 'E1', offset: 2 } },
  });

  it('moves kept replies into rows of their own, gives held sessions a TTL, and gives topics the epoch', async () => {
    const file = join(folder, 'v1.db');
    const v1 = new Database(file);
    v1.exec(V1_SCHEMA);
    v1.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('epoch', 'E1');
    v1.prepare('INSERT INTO topics (topic, head) VALUES (?, ?)').run('chat', 2);
    v1.prepare('INSERT INTO topics (topic, head) VALUES (?, ?)').run('emptied', 7);
    for (const offset of [1, 2]) v1.prepare('INSERT INTO messages (topic, offset, data, time) VALUES (?, ?, ?, ?)').run('chat', offset, JSON.stringify(offset), offset);
    const replies = [
      { seq: 4, id: 'r4', ok: true, data: { big: 'x'.repeat(5000) } },
      { seq: 3, ok: false, error: { code: 'FORBIDDEN', message: 'no' } },
    ];
    const put = v1.prepare('INSERT INTO sessions (id, expires_at, record) VALUES (?, ?, ?)');
    put.run('idle', 5_000, JSON.stringify(v1Record('idle', 5_000, replies)));
    put.run('held', null, JSON.stringify(v1Record('held', null, [{ seq: 9, ok: true }])));
    put.run('bare', 6_000, JSON.stringify(v1Record('bare', 6_000, [])));
    v1.close();

    const before = Date.now();
    const store = new SqliteStore({ file });
    const after = Date.now();
    try {
      assert.equal(store.epoch, 'E1');
      // Topics keep the database's epoch, so their clients go on recovering.
      assert.deepEqual(await store.info('chat'), { epoch: 'E1', head: 2, first: 1 });
      assert.deepEqual(await appendOk(store, [{ topic: 'chat', data: 3, time: 3 }]), [{ offset: 3, epoch: 'E1', duplicate: false }]);
      assert.deepEqual(await store.info('emptied'), { epoch: 'E1', head: 7, first: 8 });
      assert.deepEqual(await store.info('new'), { epoch: 'E1', head: 0, first: 1 });

      const { replies: _, ...idleState } = v1Record('idle', 5_000, []);
      assert.deepEqual(await store.loadSession('idle'), { ...idleState, version: 1, replies: [replies[1], replies[0]] }, 'replies by ascending seq');
      assert.deepEqual((await store.loadSession('bare'))?.replies, []);
      const held = await store.loadSession('held');
      assert.deepEqual(held?.replies, [{ seq: 9, ok: true }]);
      assert.ok(held !== undefined && held.expiresAt >= before + 120_000 && held.expiresAt <= after + 120_000, `held session expires 120 s after the migration (${held?.expiresAt})`);

      // New-style saves on migrated sessions, then the sweep removes them with their replies.
      assert.deepEqual(await store.saveSessions([{ id: 'idle', version: 1, ledger: { lastSeq: 4, doneAbove: [] }, removeReplies: [3] }]), [true]);
      assert.deepEqual((await store.loadSession('idle'))?.replies, [replies[0]]);
      assert.deepEqual(await store.sweep(6_000), { sessions: 2, ids: 0 });
      assert.equal(await store.loadSession('idle'), undefined);
      assert.deepEqual(await store.sweep(after + 120_000), { sessions: 1, ids: 0 });
    } finally {
      await store.close();
    }
    const raw = new Database(file, { readonly: true });
    try {
      assert.equal(raw.pragma('user_version', { simple: true }), SCHEMA_VERSION);
      assert.equal(raw.pragma('integrity_check', { simple: true }), 'ok');
      assert.deepEqual(raw.prepare('SELECT COUNT(*) AS n FROM session_replies').get(), { n: 0 }, 'no reply outlived its session');
      assert.deepEqual(raw.prepare('SELECT COUNT(*) AS n FROM session_cursors').get(), { n: 0 }, 'nor did a cursor');
    } finally {
      raw.close();
    }
  });

  it('migrates a v1 database that never got its epoch', async () => {
    const file = join(folder, 'v1-bare.db');
    const v1 = new Database(file);
    v1.exec(V1_SCHEMA);
    v1.close();
    const store = new SqliteStore({ file });
    try {
      assert.match(store.epoch, /^[0-9a-f-]{36}$/);
      assert.deepEqual(await appendOk(store, [{ topic: 't', data: 1, time: 1 }]), [{ offset: 1, epoch: store.epoch, duplicate: false }]);
    } finally {
      await store.close();
    }
  });
});

/** The schema of version 2, as released. */
const V2_SCHEMA = `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
  CREATE TABLE messages (id INTEGER PRIMARY KEY, topic TEXT NOT NULL, offset INTEGER NOT NULL, key TEXT, ckey TEXT, data TEXT NOT NULL, time INTEGER NOT NULL);
  CREATE UNIQUE INDEX messages_position ON messages (topic, offset);
  CREATE INDEX messages_ckey ON messages (topic, ckey) WHERE ckey IS NOT NULL;
  CREATE TABLE dedup (key TEXT PRIMARY KEY, offset INTEGER NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID;
  CREATE INDEX dedup_expiry ON dedup (expires_at);
  CREATE TABLE claims (key TEXT PRIMARY KEY, expires_at INTEGER NOT NULL) WITHOUT ROWID;
  CREATE INDEX claims_expiry ON claims (expires_at);
  CREATE TABLE topics (topic TEXT PRIMARY KEY, head INTEGER NOT NULL, epoch TEXT NOT NULL) WITHOUT ROWID;
  CREATE TABLE session_replies (id INTEGER PRIMARY KEY, session TEXT NOT NULL, seq INTEGER NOT NULL, reply TEXT NOT NULL);
  CREATE UNIQUE INDEX session_replies_seq ON session_replies (session, seq);
  CREATE TABLE sessions (id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL, state TEXT NOT NULL);
  CREATE INDEX sessions_expiry ON sessions (expires_at);
  INSERT INTO meta (key, value) VALUES ('epoch', 'E2'), ('forgotten', '0');
  PRAGMA user_version = 2;
`;

describe('SqliteStore migration from schema version 2', () => {
  it('puts existing sessions at version 1, patchable and takeable, moves their cursors into rows, and adds request runs', async () => {
    const file = join(folder, 'v2.db');
    const v2 = new Database(file);
    v2.exec(V2_SCHEMA);
    const cursors = { chat: { epoch: 'E2', offset: 2 }, 'a.b': { epoch: 'E2.1', offset: 9_007_199_254_740_991 }, 'with "quotes"': { epoch: 'E2', offset: 0 } };
    const state = { id: 's', identity: 'ann', tokenHash: 'ab'.repeat(32), expiresAt: 5_000, lastSeq: 2, doneAbove: [4], cursors };
    const bare = { ...state, id: 'bare', cursors: {} };
    v2.prepare('INSERT INTO sessions (id, expires_at, state) VALUES (?, ?, ?)').run('s', 5_000, JSON.stringify(state));
    v2.prepare('INSERT INTO sessions (id, expires_at, state) VALUES (?, ?, ?)').run('bare', 5_000, JSON.stringify(bare));
    v2.prepare('INSERT INTO session_replies (session, seq, reply) VALUES (?, ?, ?)').run('s', 4, JSON.stringify({ seq: 4, ok: true }));
    v2.prepare('INSERT INTO topics (topic, head, epoch) VALUES (?, ?, ?)').run('chat', 2, 'E2');
    v2.close();

    const store = new SqliteStore({ file });
    try {
      assert.deepEqual(await store.loadSession('s'), { ...state, version: 1, replies: [{ seq: 4, ok: true }] });
      assert.deepEqual(await store.loadSession('bare'), { ...bare, version: 1, replies: [] });
      const raw = new Database(file, { readonly: true });
      try {
        assert.deepEqual(raw.prepare("SELECT COUNT(*) AS n FROM session_cursors WHERE session = 's'").get(), { n: 3 }, 'a row per cursor');
        assert.deepEqual(raw.prepare("SELECT COUNT(*) AS n FROM sessions WHERE state -> '$.cursors' IS NOT NULL").get(), { n: 0 }, 'the state JSON keeps none');
      } finally {
        raw.close();
      }
      await store.deleteSession('bare', 1);
      assert.deepEqual(await store.info('chat'), { epoch: 'E2', head: 2, first: 3 });
      assert.deepEqual(await store.saveSessions([{ id: 's', version: 1, cursors: { chat: null, news: { epoch: 'E2', offset: 1 } } }]), [true]);
      assert.equal(await store.takeSession('s', 1, { tokenHash: 'cd'.repeat(32), expiresAt: 6_000 }), 2);
      assert.deepEqual(await store.saveSessions([{ id: 's', version: 1, ledger: { lastSeq: 9, doneAbove: [] } }]), [false]);
      assert.deepEqual(await store.loadSession('s'), {
        ...state,
        tokenHash: 'cd'.repeat(32),
        expiresAt: 6_000,
        version: 2,
        cursors: { 'a.b': cursors['a.b'], 'with "quotes"': cursors['with "quotes"'], news: { epoch: 'E2', offset: 1 } },
        replies: [{ seq: 4, ok: true }],
      });
      assert.deepEqual(await store.claimRequest('r', 1, 100, 1000), { state: 'new' });
      assert.deepEqual(await store.sweep(1_001), { sessions: 0, ids: 1 });
      assert.deepEqual(await store.sweep(6_000), { sessions: 1, ids: 0 });
    } finally {
      await store.close();
    }
    const raw = new Database(file, { readonly: true });
    try {
      assert.equal(raw.pragma('user_version', { simple: true }), SCHEMA_VERSION);
      assert.equal(raw.pragma('integrity_check', { simple: true }), 'ok');
      assert.deepEqual(raw.prepare('SELECT COUNT(*) AS n FROM session_replies').get(), { n: 0 });
      assert.deepEqual(raw.prepare('SELECT COUNT(*) AS n FROM session_cursors').get(), { n: 0 });
    } finally {
      raw.close();
    }
  });
});
