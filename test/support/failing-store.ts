import { MemoryStore, type Store, type StoreListener } from '../../src/server/index.js';

/** The store methods a FailingStore can make fail. */
export type FailableMethod = 'append' | 'read' | 'info' | 'broadcast' | 'claimIds' | 'loadSession';

/**
 * A memory store whose chosen methods reject while `failing` names them, as a database that lost
 * its connection would. Sessions keep being saved, so only the failing calls are affected.
 */
export class FailingStore implements Store {
  /** The methods that reject now. */
  failing = new Set<FailableMethod>();
  /** Every rejection this store made, so a test can tell its own errors from the server's. */
  readonly thrown = new Set<unknown>();

  constructor(readonly inner = new MemoryStore()) {}

  /** Whether `error` is one this store threw on purpose. */
  threw = (error: unknown): boolean => this.thrown.has(error);

  private fail(method: FailableMethod): Promise<never> | undefined {
    if (!this.failing.has(method)) return undefined;
    const error = new Error(`store down (${method})`);
    this.thrown.add(error);
    return Promise.reject(error);
  }

  listen(listener: StoreListener): () => void {
    return this.inner.listen(listener);
  }

  append: Store['append'] = (entries) => this.fail('append') ?? this.inner.append(entries);
  read: Store['read'] = (topic, after, limit) => this.fail('read') ?? this.inner.read(topic, after, limit);
  info: Store['info'] = (topic) => this.fail('info') ?? this.inner.info(topic);
  broadcast: Store['broadcast'] = (message) => this.fail('broadcast') ?? this.inner.broadcast(message);
  claimIds: Store['claimIds'] = (keys, ttl, now) => this.fail('claimIds') ?? this.inner.claimIds(keys, ttl, now);
  trim: Store['trim'] = (topic, policy, now) => this.inner.trim(topic, policy, now);
  saveSessions: Store['saveSessions'] = (records) => this.inner.saveSessions(records);
  loadSession: Store['loadSession'] = (id) => this.fail('loadSession') ?? this.inner.loadSession(id);
  deleteSession: Store['deleteSession'] = (id) => this.inner.deleteSession(id);
  sweep: Store['sweep'] = (now) => this.inner.sweep(now);
  close: Store['close'] = () => this.inner.close();
}
