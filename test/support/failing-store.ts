import { MemoryStore, type Store } from '../../src/server/index.js';
import { ForwardingStore } from './forwarding-store.js';

/** The store methods a FailingStore can make fail. */
export type FailableMethod = 'append' | 'read' | 'info' | 'broadcast' | 'claimIds' | 'loadSession' | 'claimRequest' | 'createSession' | 'takeSession' | 'saveSessions';

/**
 * A memory store whose chosen methods reject while `failing` names them, as a database that lost
 * its connection would. The others keep working, so only the failing calls are affected.
 */
export class FailingStore extends ForwardingStore {
  /** The methods that reject now. */
  failing = new Set<FailableMethod>();
  /** Every rejection this store made, so a test can tell its own errors from the server's. */
  readonly thrown = new Set<unknown>();

  constructor(readonly inner = new MemoryStore()) {
    super(inner);
  }

  /** Whether `error` is one this store threw on purpose. */
  threw = (error: unknown): boolean => this.thrown.has(error);

  private fail(method: FailableMethod): Promise<never> | undefined {
    if (!this.failing.has(method)) return undefined;
    const error = new Error(`store down (${method})`);
    this.thrown.add(error);
    return Promise.reject(error);
  }

  override append: Store['append'] = (entries) => this.fail('append') ?? this.inner.append(entries);
  override read: Store['read'] = (topic, after, limit, maxBytes) => this.fail('read') ?? this.inner.read(topic, after, limit, maxBytes);
  override info: Store['info'] = (topic) => this.fail('info') ?? this.inner.info(topic);
  override broadcast: Store['broadcast'] = (message) => this.fail('broadcast') ?? this.inner.broadcast(message);
  override claimIds: Store['claimIds'] = (keys, ttl, now) => this.fail('claimIds') ?? this.inner.claimIds(keys, ttl, now);
  override claimRequest: Store['claimRequest'] = (key, now, lease, ttl) => this.fail('claimRequest') ?? this.inner.claimRequest(key, now, lease, ttl);
  override createSession: Store['createSession'] = (state) => this.fail('createSession') ?? this.inner.createSession(state);
  override takeSession: Store['takeSession'] = (id, version, change) => this.fail('takeSession') ?? this.inner.takeSession(id, version, change);
  override saveSessions: Store['saveSessions'] = (updates) => this.fail('saveSessions') ?? this.inner.saveSessions(updates);
  override loadSession: Store['loadSession'] = (id) => this.fail('loadSession') ?? this.inner.loadSession(id);
}
