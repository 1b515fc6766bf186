import type { Store, StoreListener } from '../../src/server/index.js';

/**
 * A Store that hands every call to `target`: the base of the test stores that change one thing
 * (fail some calls, lose some notifications, switch to another store underneath).
 */
export class ForwardingStore implements Store {
  constructor(protected target: Store) {}

  listen(listener: StoreListener): () => void {
    return this.target.listen(listener);
  }

  append: Store['append'] = (entries) => this.target.append(entries);
  read: Store['read'] = (topic, after, limit, maxBytes) => this.target.read(topic, after, limit, maxBytes);
  info: Store['info'] = (topic) => this.target.info(topic);
  trim: Store['trim'] = (topic, policy, now) => this.target.trim(topic, policy, now);
  broadcast: Store['broadcast'] = (message) => this.target.broadcast(message);
  watch: Store['watch'] = (topic) => this.target.watch(topic);
  unwatch: Store['unwatch'] = (topic) => this.target.unwatch(topic);
  claimIds: Store['claimIds'] = (keys, ttl, now) => this.target.claimIds(keys, ttl, now);
  claimRequest: Store['claimRequest'] = (key, now, lease, ttl) => this.target.claimRequest(key, now, lease, ttl);
  renewRequests: Store['renewRequests'] = (keys, now, lease) => this.target.renewRequests(keys, now, lease);
  completeRequest: Store['completeRequest'] = (key, outcome, now, ttl) => this.target.completeRequest(key, outcome, now, ttl);
  confirmRequests: Store['confirmRequests'] = (keys) => this.target.confirmRequests(keys);
  createSession: Store['createSession'] = (state) => this.target.createSession(state);
  takeSession: Store['takeSession'] = (id, version, change) => this.target.takeSession(id, version, change);
  saveSessions: Store['saveSessions'] = (updates) => this.target.saveSessions(updates);
  loadSession: Store['loadSession'] = (id) => this.target.loadSession(id);
  deleteSession: Store['deleteSession'] = (id, version) => this.target.deleteSession(id, version);
  sweep: Store['sweep'] = (now) => this.target.sweep(now);
  close: Store['close'] = () => this.target.close();
}
