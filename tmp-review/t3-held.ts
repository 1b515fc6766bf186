// A snapshot hook (or store.info) failing in the gap path leaves the subscription 'held' forever.
import { RawPeer } from '../test/support/raw-peer.js';
import { startServer } from '../test/support/servers.js';
let fail = true;
const errors: unknown[] = [];
const t = await startServer({
  onError: (e) => errors.push(e),
  limits: { maxInFlight: 2 },
  topics: { chat: { mode: 'reliable', retention: { maxCount: 5 }, snapshot: () => { if (fail) throw new Error('snapshot down'); return 'snap'; } } },
});
const peer = await RawPeer.greeted(t.url);
peer.send({ type: 'sub', topic: 'chat' });
await peer.next('subscribed');
for (let i = 1; i <= 20; i++) await t.server.publish('chat', i);
t.server.hub.sweep(); // trims to 16..20
await new Promise((r) => setTimeout(r, 50));
peer.send({ type: 'ack', offsets: { chat: 2 } });
await new Promise((r) => setTimeout(r, 100));
fail = false; // the hook recovers at once
for (let i = 21; i <= 25; i++) await t.server.publish('chat', i);
await new Promise((r) => setTimeout(r, 2500));
console.log('errors', errors.map(String));
console.log('frames after ack:', JSON.stringify(peer.frames.filter((f) => f.type !== 'msg' || (f.offset ?? 0) > 2)));
const sub = [...[...t.server.hub.connections][0]!.subscriptions.values()][0]!;
console.log('server subscription state', sub.state, 'sent', sub.sent);
process.exit(0);
