// Epoch change seen through a live store event (e.g. a store failover): first-of-event bug and stale heads loop.
import { MemoryStore } from '../src/store/memory/index.js';
import type { Store, StoreListener } from '../src/store/types.js';
import { RawPeer } from '../test/support/raw-peer.js';
import { startServer } from '../test/support/servers.js';

class SwitchStore {
  inner: MemoryStore; listeners = new Set<StoreListener>(); off: () => void;
  constructor(inner: MemoryStore) { this.inner = inner; this.off = inner.listen((e) => this.listeners.forEach((l) => l(e))); }
  swap(next: MemoryStore) { this.off(); this.inner = next; this.off = next.listen((e) => this.listeners.forEach((l) => l(e))); }
  listen(l: StoreListener) { this.listeners.add(l); return () => this.listeners.delete(l); }
}
const sw = new SwitchStore(new MemoryStore({ epoch: 'e1' }));
const store = new Proxy(sw, { get: (t, p) => (p === 'listen' || p === 'swap' ? (t as any)[p].bind(t) : (t.inner as any)[p]?.bind?.(t.inner)) }) as unknown as Store;
const scenario = process.argv[2];
const t = await startServer({ store });
const peer = await RawPeer.greeted(t.url);
peer.send({ type: 'sub', topic: 'chat' });
await peer.next('subscribed');
const oldHead = scenario === 'loop' ? 100 : 2;
for (let i = 1; i <= oldHead; i++) await t.server.publish('chat', `e1-${i}`);
await peer.next('msg', (m) => m.offset === oldHead);
const e2 = new MemoryStore({ epoch: 'e2' });
for (let i = 1; i <= 5; i++) await e2.append([{ topic: 'chat', data: `e2-${i}`, time: Date.now() }]); // other nodes' writes
sw.swap(e2);
const tick = setInterval(() => console.log('event loop alive'), 200);
await t.server.publish('chat', 'e2-6');
await new Promise((r) => setTimeout(r, 500));
clearInterval(tick);
console.log(JSON.stringify(peer.frames.filter((f) => f.type !== 'ack')));
process.exit(0);
