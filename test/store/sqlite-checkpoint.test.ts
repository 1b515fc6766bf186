import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../src/store/sqlite/index.js';
import { BACKSTOP_CHECKPOINT_PAGES, Checkpointer, MAIN_THREAD_CHECKPOINT_PAGES } from '../../src/store/sqlite/checkpointer.js';

const folder = mkdtempSync(join(tmpdir(), 'holdfast-checkpoint-'));
after(() => rmSync(folder, { recursive: true, force: true }));
let files = 0;
const freshFile = (): string => join(folder, `db-${files++}.db`);
const walBytes = (file: string): number => (existsSync(`${file}-wal`) ? statSync(`${file}-wal`).size : 0);
const checkpointerOf = (store: SqliteStore): Checkpointer => (store as unknown as { checkpointer: Checkpointer }).checkpointer;
/** A log of `pages` pages of 4 KiB, with SQLite's per-frame and file headers. */
const walBytesOf = (pages: number): number => 32 + pages * (4096 + 24);

/** Single-message commits, as a server at a low rate makes them, pausing now and then as traffic does. */
async function appendMany(store: SqliteStore, count: number, onWal: (bytes: number) => void, file: string): Promise<void> {
  for (let i = 0; i < count; i++) {
    await store.append([{ topic: 't', data: { i, text: 'x'.repeat(100) }, time: i }]);
    if (i % 100 === 0) {
      onWal(walBytes(file));
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }
}

describe('SqliteStore checkpoints', () => {
  it('run on the checkpoint thread, and keep the log bounded while writing', async () => {
    const file = freshFile();
    const store = new SqliteStore({ file, onError: (error) => assert.fail(`onError: ${String(error)}`) });
    try {
      assert.equal(await checkpointerOf(store).started, 'thread');
      let largest = 0;
      // About 7 log pages a commit: unbounded, 20,000 commits would make a log of over 500 MB.
      await appendMany(store, 20_000, (bytes) => (largest = Math.max(largest, bytes)), file);
      assert.ok(largest <= walBytesOf(BACKSTOP_CHECKPOINT_PAGES * 1.5), `the log reached ${largest} bytes`);
      assert.equal((await store.info('t')).head, 20_000);
    } finally {
      await store.close();
    }
  });

  it('keep one store per database: a second fails with DATABASE_LOCKED until the first closes', async () => {
    const file = freshFile();
    const first = new SqliteStore({ file });
    await first.append([{ topic: 't', data: 1, time: 1 }]);
    assert.throws(() => new SqliteStore({ file }), { name: 'HoldfastError', code: 'DATABASE_LOCKED', message: /in use by another process/ });
    assert.equal((await first.info('t')).head, 1, 'the first store is unharmed');
    await first.close();
    const second = new SqliteStore({ file });
    assert.equal((await second.info('t')).head, 1);
    await second.close();
  });

  it('leave nothing in the log after close(): the folder holds the database and its lock file', async () => {
    const dir = mkdtempSync(join(folder, 'close-'));
    const file = join(dir, 'holdfast.db');
    const store = new SqliteStore({ file });
    await appendMany(store, 2000, () => undefined, file);
    await store.close();
    assert.deepEqual(readdirSync(dir).sort(), ['holdfast.db', 'holdfast.db-lock']);
    const db = new Database(file, { readonly: true });
    try {
      assert.equal((db.prepare('SELECT COUNT(*) AS n FROM messages').get() as { n: number }).n, 2000, 'all of it in the database');
    } finally {
      db.close();
    }
  });

  it('fall back to the store connection (and say so) when the thread cannot start; the log stays bounded', async () => {
    const file = freshFile();
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE rows (id INTEGER PRIMARY KEY, text TEXT NOT NULL)');
    const errors: unknown[] = [];
    const checkpointer = new Checkpointer(db, {
      file,
      synchronous: 'NORMAL',
      onError: (error) => errors.push(error),
      entry: new URL('./no-such-checkpoint-thread.js', import.meta.url),
    });
    try {
      assert.equal(await checkpointer.started, 'main');
      assert.equal(errors.length, 1);
      assert.match(String(errors[0]), /checkpoint thread failed, so checkpoints run on the main thread again/);
      assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), MAIN_THREAD_CHECKPOINT_PAGES);
      const insert = db.prepare('INSERT INTO rows (text) VALUES (?)');
      let largest = 0;
      for (let i = 0; i < 5000; i++) {
        insert.run('x'.repeat(1000));
        largest = Math.max(largest, walBytes(file));
      }
      assert.ok(largest <= walBytesOf(MAIN_THREAD_CHECKPOINT_PAGES * 1.5), `the log reached ${largest} bytes`);
    } finally {
      await checkpointer.stop();
      db.close();
    }
  });

  it('fall back when the thread dies, once, and not after stop()', async () => {
    const file = freshFile();
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    const errors: unknown[] = [];
    // A thread whose database is not there: it fails as it opens it.
    const checkpointer = new Checkpointer(db, { file: join(folder, 'missing', 'x.db'), synchronous: 'NORMAL', onError: (error) => errors.push(error) });
    try {
      assert.equal(await checkpointer.started, 'main');
      await new Promise((resolve) => setTimeout(resolve, 50)); // the 'exit' after the 'error'
      assert.equal(errors.length, 1);
      assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), MAIN_THREAD_CHECKPOINT_PAGES);
    } finally {
      await checkpointer.stop();
      db.close();
    }
  });
});
