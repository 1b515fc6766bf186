import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { MsgFrame } from '../../src/protocol/index.js';
import { openDataFolder } from '../../src/store/sqlite/index.js';
import { RawPeer } from '../support/raw-peer.js';
import { cli, finished, listening, publish, type Finished } from './helpers.js';

/** The demo's chat room: what the page shows as history. */
const TOPIC = 'chat:lobby';

const folders: string[] = [];
const children: ChildProcess[] = [];
const peers: RawPeer[] = [];

after(async () => {
  for (const peer of peers) peer.close();
  for (const child of children) child.kill('SIGKILL');
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
});

async function tempFolder(): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'holdfast-cli-data-'));
  folders.push(folder);
  return folder;
}

/** Starts `holdfast serve` and waits until it listens. */
async function serve(args: string[], options: Parameters<typeof cli>[1] = {}) {
  const child = cli(['serve', '--port', '0', '--no-prices', ...args], options);
  children.push(child);
  const done = finished(child);
  const started = await listening(child);
  return { child, done, ...started };
}

/** Runs a server that must fail to start, and returns how it ended. */
async function failToStart(args: string[], options: Parameters<typeof cli>[1] = {}): Promise<Finished> {
  const child = cli(['serve', '--port', '0', '--no-prices', ...args], options);
  children.push(child);
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  try {
    return await finished(child);
  } finally {
    clearTimeout(timer);
  }
}

/** A start error: exit status 1, one line `holdfast: …` on stderr, no stack trace. */
function assertStartError(result: Finished, pattern: RegExp): void {
  assert.equal(result.code, 1, `exit status; stderr: ${result.stderr}`);
  const lines = result.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got:\n${result.stderr}`);
  assert.match(lines[0]!, /^holdfast: /);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(result.stderr, /^\s+at /m, 'no stack trace');
  assert.doesNotMatch(result.stdout, /Holdfast listening/, 'it never listened');
}

async function subscribe(wsUrl: string, position: { from: 'start' } | { epoch: string; offset: number }) {
  const peer = await RawPeer.greeted(wsUrl);
  peers.push(peer);
  peer.send({ type: 'sub', topic: TOPIC, ...position });
  const subscribed = await peer.next('subscribed', (frame) => frame.topic === TOPIC);
  return { peer, subscribed };
}

async function messages(peer: RawPeer, count: number): Promise<MsgFrame[]> {
  const received: MsgFrame[] = [];
  while (received.length < count) received.push(await peer.next('msg', (frame) => frame.topic === TOPIC));
  return received;
}

async function post(url: string, data: unknown): Promise<number> {
  const response = await publish(url, { topic: TOPIC, data });
  assert.equal(response.status, 200, response.body);
  return (JSON.parse(response.body) as { offset: number }).offset;
}

const chat = (id: string, text: string) => ({ id, name: 'backend', text, at: Date.now() });

describe('holdfast serve with the SQLite store', () => {
  it("keeps the demo's chat history through a SIGKILL: the same epoch, recovered: true", async () => {
    const data = await tempFolder();
    const first = await serve(['--data', data]);
    assert.equal(first.store, `sqlite ${join(data, 'holdfast.db')}`);

    // A page that has read the first message: its position is {epoch, offset 1}.
    const reader = await subscribe(first.wsUrl, { from: 'start' });
    assert.equal(await post(first.url, chat('m1', 'before the crash')), 1);
    const [seen] = await messages(reader.peer, 1);
    assert.equal(seen!.offset, 1);
    const position = { epoch: reader.subscribed.epoch, offset: seen!.offset! };
    reader.peer.close();
    // Written while that page is away; acknowledged (200), so it must survive anything but the disk.
    assert.equal(await post(first.url, chat('m2', 'while you were away')), 2);

    first.child.kill('SIGKILL'); // no shutdown, no checkpoint: only what was committed
    assert.equal((await first.done).signal, 'SIGKILL');

    const second = await serve(['--data', data]);
    const fresh = await subscribe(second.wsUrl, { from: 'start' });
    assert.equal(fresh.subscribed.epoch, position.epoch, 'the epoch lives as long as the database');
    assert.deepEqual(
      (await messages(fresh.peer, 2)).map((m) => [m.offset, (m.data as { id: string }).id]),
      [
        [1, 'm1'],
        [2, 'm2'],
      ],
    );

    const returning = await subscribe(second.wsUrl, position);
    assert.equal(returning.subscribed.recovering, true);
    assert.equal(returning.subscribed.recovered, true, 'the page says nothing was lost');
    assert.equal(returning.subscribed.offset, 1);
    const [missed] = await messages(returning.peer, 1);
    assert.deepEqual([missed!.offset, (missed!.data as { text: string }).text], [2, 'while you were away']);

    // And the history grows on from there, with no offset reused.
    assert.equal(await post(second.url, chat('m3', 'after the restart')), 3);
    second.child.kill('SIGTERM');
    assert.equal((await second.done).code, 0);
  });

  it('uses ./data of the current directory by default, and closes the database on SIGTERM', async () => {
    const cwd = await tempFolder();
    const server = await serve([], { cwd });
    assert.equal(server.store, `sqlite ${join(cwd, 'data', 'holdfast.db')}`);
    assert.equal(await post(server.url, chat('m1', 'kept')), 1);
    server.child.kill('SIGTERM');
    const { code, stdout } = await server.done;
    assert.equal(code, 0);
    assert.match(stdout, /SIGTERM received/);
    // A clean close checkpoints the write-ahead log into the database and removes it.
    assert.equal(existsSync(join(cwd, 'data', 'holdfast.db-wal')), false, 'the store was closed');
    const store = openDataFolder(join(cwd, 'data')); // and unlocked
    try {
      const { messages: stored } = await store.read(TOPIC, 0, 10);
      assert.deepEqual(
        stored.map((m) => (m.data as { text: string }).text),
        ['kept'],
      );
    } finally {
      await store.close();
    }
  });

  it('--memory keeps everything in memory, says so, and creates no data folder', async () => {
    const cwd = await tempFolder();
    const server = await serve(['--memory'], { cwd });
    assert.match(server.store, /^memory\b/);
    assert.match(server.store, /restart/);
    assert.equal(await post(server.url, chat('m1', 'gone after a restart')), 1);
    server.child.kill('SIGTERM');
    assert.equal((await server.done).code, 0);
    assert.equal(existsSync(join(cwd, 'data')), false);
  });

  it('answers 507 STORE_FULL on the publish API once --max-db-size is reached, and keeps serving what it stored', async () => {
    const data = await tempFolder();
    const server = await serve(['--data', data, '--max-db-size', '128k']);
    let stored = 0;
    let full: { status: number; body: string } | undefined;
    for (let i = 0; i < 2000 && full === undefined; i++) {
      const response = await publish(server.url, { topic: TOPIC, data: chat(`m${i}`, 'x'.repeat(200)) });
      if (response.status === 200) stored++;
      else full = response;
    }
    assert.ok(full !== undefined, 'the database filled up');
    assert.equal(full.status, 507, full.body);
    assert.equal((JSON.parse(full.body) as { error: { code: string } }).error.code, 'STORE_FULL');
    assert.ok(stored > 20, `${stored} messages fitted`);

    const reader = await subscribe(server.wsUrl, { from: 'start' });
    assert.deepEqual(
      (await messages(reader.peer, stored)).map((m) => m.offset),
      Array.from({ length: stored }, (_, i) => i + 1),
    );
    server.child.kill('SIGTERM');
    assert.equal((await server.done).code, 0);
  });
});

describe('holdfast serve start errors', () => {
  it('exits 1 with one clear line for a data folder whose parent does not exist', async () => {
    const result = await failToStart(['--data', '/nonexistent/deeper/folder']);
    assertStartError(result, /\/nonexistent\/deeper\/folder does not exist.*DATA_FOLDER_UNUSABLE/);
  });

  it('exits 1 with one clear line for a data folder it cannot write (run as an unprivileged user)', async () => {
    const parent = await tempFolder();
    await chmod(parent, 0o755); // mkdtemp makes it 0700: the other user must be able to reach the folder
    const data = join(parent, 'read-only');
    await mkdir(data);
    await chmod(data, 0o555);
    // Root ignores permission bits, so as root the CLI runs as nobody; anyone else is refused by the bits.
    const asRoot = process.getuid?.() === 0;
    let result: Finished;
    try {
      result = await failToStart(['--data', data], asRoot ? { spawn: { uid: 65534, gid: 65534 } } : {});
    } catch (error) {
      throw new Error(`cannot run the CLI as uid 65534, which this test needs because root ignores permission bits: ${(error as Error).message}`, {
        cause: error,
      });
    }
    if (asRoot && !result.stderr.startsWith('holdfast: ')) {
      throw new Error(`the CLI could not run as uid 65534 (it needs read access to the project, node_modules and a writable temp folder):\n${result.stderr}`);
    }
    assertStartError(result, new RegExp(`${data} is not writable.*DATA_FOLDER_UNUSABLE`));
    assert.equal(existsSync(join(data, 'holdfast.db')), false);
  });

  it('exits 1 with DATABASE_LOCKED when another server holds the folder, and the first keeps working', async () => {
    const data = await tempFolder();
    const first = await serve(['--data', data]);
    assert.equal(await post(first.url, chat('m1', 'first')), 1);

    const second = await failToStart(['--data', data]);
    assertStartError(second, /in use by another process.*another server running on this data folder.*DATABASE_LOCKED/);

    assert.equal(await post(first.url, chat('m2', 'still here')), 2);
    const reader = await subscribe(first.wsUrl, { from: 'start' });
    assert.deepEqual(
      (await messages(reader.peer, 2)).map((m) => (m.data as { text: string }).text),
      ['first', 'still here'],
    );
    first.child.kill('SIGTERM');
    assert.equal((await first.done).code, 0);
  });

  it('exits 1 with DATABASE_TOO_NEW for a database written by a newer Holdfast, and leaves it alone', async () => {
    const data = await tempFolder();
    const file = join(data, 'holdfast.db');
    const db = new Database(file);
    db.pragma('user_version = 9999');
    db.close();
    const result = await failToStart(['--data', data]);
    assertStartError(result, /schema version 9999, written by a newer Holdfast.*DATABASE_TOO_NEW/);
    const check = new Database(file, { readonly: true });
    try {
      assert.equal(check.pragma('user_version', { simple: true }), 9999);
    } finally {
      check.close();
    }
  });

  it('without better-sqlite3: exits 1 telling to install it or use --memory; --memory still works', async () => {
    // A resolve hook that makes better-sqlite3 missing, as in an install without the optional peer.
    const hooks = join(await tempFolder(), 'no-better-sqlite3.mjs');
    const resolveHook = `export async function resolve(specifier, context, next) {
      if (specifier === 'better-sqlite3') {
        const error = new Error("Cannot find package 'better-sqlite3' imported from " + context.parentURL);
        error.code = 'ERR_MODULE_NOT_FOUND';
        throw error;
      }
      return next(specifier, context);
    }`;
    await writeFile(
      hooks,
      `import { register } from 'node:module';\nregister(${JSON.stringify(`data:text/javascript,${encodeURIComponent(resolveHook)}`)});\n`,
    );
    const nodeArgs = ['--import', hooks];
    const data = join(await tempFolder(), 'data');

    const result = await failToStart(['--data', data], { nodeArgs });
    assertStartError(result, /better-sqlite3.*Cannot find package 'better-sqlite3'.*npm install better-sqlite3.*--memory/);
    assert.equal(existsSync(data), false, 'nothing was created');

    // The SQLite subpath is loaded only when used: the memory store needs no better-sqlite3.
    const server = await serve(['--memory'], { nodeArgs });
    assert.match(server.store, /^memory/);
    assert.equal(await post(server.url, chat('m1', 'in memory')), 1);
    server.child.kill('SIGTERM');
    assert.equal((await server.done).code, 0);
  });
});
