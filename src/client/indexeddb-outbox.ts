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
 * adopts the rows of tabs that no longer hold theirs (closed with messages unsent), so those are
 * sent too the next time the application opens.
 */
export function indexedDbOutbox(options: IndexedDbOutboxOptions = {}): IndexedDbOutbox {
  const name = options.name ?? 'holdfast-outbox';
  const factory = options.indexedDB ?? (globalThis as { indexedDB?: IDBFactory }).indexedDB;
  if (factory === undefined) throw new TypeError('holdfast: indexedDbOutbox needs IndexedDB, which this host does not have');
  let database: Promise<IDBDatabase> | undefined;
  const open = () => (database ??= openDatabase(factory, name));
  let owner: Promise<string> | undefined;
  const me = () => (owner ??= claimTabId(name));
  let order = 0;

  return {
    async load() {
      const [db, id] = await Promise.all([open(), me()]);
      const abandoned = await abandonedOwners(name, id);
      const transaction = db.transaction(STORE, 'readwrite');
      const rows = (await request(transaction.objectStore(STORE).getAll())) as Row[];
      const mine = rows.filter((row) => row.owner === id || abandoned(row.owner));
      for (const row of mine) if (row.owner !== id) transaction.objectStore(STORE).put({ ...row, owner: id });
      await done(transaction);
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

function openDatabase(factory: IDBFactory, name: string): Promise<IDBDatabase> {
  const opening = factory.open(name, 1);
  opening.onupgradeneeded = () => opening.result.createObjectStore(STORE, { keyPath: 'id' });
  return request(opening);
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

interface LockManagerLike {
  request(name: string, options: { ifAvailable: boolean }, callback: (lock: unknown) => Promise<unknown> | null): Promise<unknown>;
  query(): Promise<{ held?: Array<{ name?: string }> }>;
}

function locks(): LockManagerLike | undefined {
  return (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks;
}

const lockName = (database: string, tab: string) => `holdfast-outbox:${database}:${tab}`;

/**
 * This tab's id: the one sessionStorage kept across a reload, or a new one. A duplicated tab
 * copies sessionStorage too; the lock tells the copy that the id is taken, and it takes a new one.
 */
async function claimTabId(database: string): Promise<string> {
  const storage = (globalThis as { sessionStorage?: Storage }).sessionStorage;
  const key = `holdfast-outbox:${database}:tab`;
  let id = storage?.getItem(key) ?? randomId();
  const manager = locks();
  if (manager !== undefined) {
    while (!(await holdForever(manager, lockName(database, id)))) id = randomId();
  }
  storage?.setItem(key, id);
  return id;
}

/** Takes the lock if nobody holds it and keeps it until the page goes away. */
function holdForever(manager: LockManagerLike, name: string): Promise<boolean> {
  return new Promise((resolve) => {
    void manager.request(name, { ifAvailable: true }, (lock) => {
      resolve(lock !== null);
      return lock === null ? null : new Promise(() => {});
    });
  });
}

/** Which owners are tabs that are gone. Without Web Locks nobody can tell: none are adopted. */
async function abandonedOwners(database: string, me: string): Promise<(owner: string) => boolean> {
  const manager = locks();
  if (manager === undefined) return () => false;
  const held = new Set((await manager.query()).held?.map((lock) => lock.name) ?? []);
  return (owner) => owner !== me && !held.has(lockName(database, owner));
}

/** Random enough to tell tabs apart; a message id is a ready-made one. */
function randomId(): string {
  return messageId();
}
