import { messageId } from './message-id.js';
import type { OutboxStorage, StoredPublish } from './outbox-storage.js';

export interface IndexedDbOutboxOptions {
  /**
   * The database's name. Use one per application and signed-in user: kept publishes are sent again
   * with the credentials of whoever is signed in when the page loads.
   * @default 'holdfast-outbox'
   */
  name?: string;
  /** @default globalThis.indexedDB */
  indexedDB?: IDBFactory;
}

export interface IndexedDbOutbox extends OutboxStorage {
  /** Forgets every kept publish of every tab (on sign-out, for example). */
  clear(): Promise<void>;
}

/** A kept publish as stored: which tab owns it, and its place among the tab's publishes. */
interface Row extends StoredPublish {
  owner: string;
  order: number;
}

const STORE = 'publishes';

/**
 * The browser's OutboxStorage: unconfirmed reliable publishes in IndexedDB, so a reload sends them
 * exactly once (the server recognises the ids of any the old page had delivered).
 *
 * Tabs share the database but not their publishes: each tab owns the rows it wrote, under an id
 * kept in sessionStorage (which survives a reload of that tab and nothing else). Where the Web
 * Locks API exists, a tab holds a lock named after its id for as long as it lives; a loading tab
 * adopts, under that lock, the rows of tabs that no longer hold theirs (closed with messages
 * unsent), so those are sent too the next time the application opens. Without Web Locks a tab
 * sends only its own rows.
 */
export function indexedDbOutbox(options: IndexedDbOutboxOptions = {}): IndexedDbOutbox {
  const name = options.name ?? 'holdfast-outbox';
  const factory = options.indexedDB ?? (globalThis as { indexedDB?: IDBFactory }).indexedDB;
  if (factory === undefined) throw new TypeError('holdfast: indexedDbOutbox needs IndexedDB, which this host does not have');
  let database: Promise<IDBDatabase> | undefined;
  const open = () => (database ??= openDatabase(factory, name, () => (database = undefined)));
  let owner: Promise<string> | undefined;
  const me = () => (owner ??= claimTabId(name));
  let order = 0;

  return {
    async load() {
      const [db, id] = await Promise.all([open(), me()]);
      const rows = (await request(db.transaction(STORE).objectStore(STORE).getAll())) as Row[];
      const mine = rows.filter((row) => row.owner === id);
      // A closed tab's rows: taken over only while holding its lock, so a tab that is just loading
      // (and about to claim its id) cannot lose them to us half-way.
      const others = new Set(rows.map((row) => row.owner).filter((owner) => owner !== id));
      const manager = locks();
      if (manager !== undefined) {
        for (const owner of others) {
          const adopted = await withLockIfFree(manager, lockName(name, owner), () => adopt(db, owner, id));
          if (adopted !== undefined) mine.push(...adopted);
        }
      }
      mine.sort((a, b) => a.time - b.time || a.order - b.order);
      order = mine.reduce((highest, row) => Math.max(highest, row.order + 1), 0);
      return mine.map(({ owner: _owner, order: _order, ...publish }) => publish);
    },

    async write({ put, remove }) {
      const [db, id] = await Promise.all([open(), me()]);
      const transaction = db.transaction(STORE, 'readwrite');
      const store = transaction.objectStore(STORE);
      for (const publish of put) store.put({ ...publish, owner: id, order: order++ } satisfies Row);
      for (const key of remove) store.delete(key);
      await done(transaction);
    },

    async clear() {
      const transaction = (await open()).transaction(STORE, 'readwrite');
      transaction.objectStore(STORE).clear();
      await done(transaction);
    },
  };
}

async function openDatabase(factory: IDBFactory, name: string, forget: () => void): Promise<IDBDatabase> {
  const opening = factory.open(name, 1);
  opening.onupgradeneeded = () => opening.result.createObjectStore(STORE, { keyPath: 'id' });
  const db = await request(opening);
  // A newer page wants to upgrade the database: step aside instead of blocking it (the next
  // write opens it again).
  db.onversionchange = () => {
    db.close();
    forget();
  };
  return db;
}

/** Moves `owner`'s rows to `to`, in one transaction; returns them. */
async function adopt(db: IDBDatabase, owner: string, to: string): Promise<Row[]> {
  const transaction = db.transaction(STORE, 'readwrite');
  const store = transaction.objectStore(STORE);
  // No other await between the read and the puts: the transaction stays active.
  const rows = ((await request(store.getAll())) as Row[]).filter((row) => row.owner === owner);
  for (const row of rows) store.put({ ...row, owner: to });
  await done(transaction);
  return rows;
}

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB request failed'));
  });
}

function done(transaction: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    transaction.oncomplete = () => resolve();
    transaction.onerror = () => reject(transaction.error ?? new Error('IndexedDB transaction failed'));
    transaction.onabort = () => reject(transaction.error ?? new Error('IndexedDB transaction aborted'));
  });
}

interface LockOptions {
  ifAvailable?: boolean;
  signal?: AbortSignal;
}

interface LockManagerLike {
  request(name: string, options: LockOptions, callback: (lock: unknown) => Promise<unknown> | null): Promise<unknown>;
}

function locks(): LockManagerLike | undefined {
  return (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks;
}

const lockName = (database: string, tab: string) => `holdfast-outbox:${database}:${tab}`;

/**
 * This tab's id: the one sessionStorage kept across a reload, or a new one. After a reload the old
 * page may still hold the id's lock for a moment, so it is waited for (OWN_LOCK_WAIT_MS); a
 * duplicated tab copies sessionStorage too, and finds the id held for longer: it takes a new one.
 */
async function claimTabId(database: string): Promise<string> {
  const storage = (globalThis as { sessionStorage?: Storage }).sessionStorage;
  const key = `holdfast-outbox:${database}:tab`;
  const kept = storage?.getItem(key) ?? undefined;
  let id = kept ?? randomId();
  const manager = locks();
  if (manager !== undefined) {
    let wait = kept === undefined ? 0 : OWN_LOCK_WAIT_MS;
    while (!(await holdForever(manager, lockName(database, id), wait))) {
      id = randomId();
      wait = 0;
    }
  }
  storage?.setItem(key, id);
  return id;
}

/** How long a reloaded page waits for its old self to let go of the tab id. */
const OWN_LOCK_WAIT_MS = 1000;

/**
 * Takes the lock (waiting up to `waitMs` for it) and keeps it until the page goes away; false if
 * it stayed taken.
 */
function holdForever(manager: LockManagerLike, name: string, waitMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const options: LockOptions = waitMs > 0 && typeof AbortSignal.timeout === 'function' ? { signal: AbortSignal.timeout(waitMs) } : { ifAvailable: true };
    manager
      .request(name, options, (lock) => {
        resolve(lock !== null);
        return lock === null ? null : new Promise(() => {});
      })
      .catch(() => resolve(false)); // the wait was aborted: someone else holds it
  });
}

/** Runs `work` while holding the lock `name` if nobody holds it; undefined if somebody does. */
async function withLockIfFree<T>(manager: LockManagerLike, name: string, work: () => Promise<T>): Promise<T | undefined> {
  let result: T | undefined;
  await manager.request(name, { ifAvailable: true }, async (lock) => {
    if (lock !== null) result = await work();
    return null;
  });
  return result;
}

/** Random enough to tell tabs apart; a message id is a ready-made one. */
function randomId(): string {
  return messageId();
}
