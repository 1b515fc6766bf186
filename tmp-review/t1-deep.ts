// Deeply nested data: (a) poisons a topic for all subscribers, (b) crashes the server via req.
import { RawPeer } from '../test/support/raw-peer.js';
import { startServer } from '../test/support/servers.js';
const errors: unknown[] = [];
const t = await startServer({ onError: (e) => errors.push(e), handlers: { echo: (d) => d } });
const victim = await RawPeer.greeted(t.url);
victim.send({ type: 'sub', topic: 'chat' });
await victim.next('subscribed');
const attacker = await RawPeer.greeted(t.url);
const deep = '['.repeat(5000) + ']'.repeat(5000);
attacker.send(`{"type":"pub","topic":"chat","seq":1,"id":"a1","data":${deep}}`);
await attacker.next('ack');
attacker.send({ type: 'pub', topic: 'chat', seq: 2, id: 'a2', data: 'after' });
await attacker.next('ack', (a) => a.seq === 2);
await new Promise((r) => setTimeout(r, 2500)); // sweeps retry blocked
console.log('(a) victim got msgs:', victim.frames.filter((f) => f.type === 'msg').length, 'errors:', errors.map((e) => String(e).slice(0, 60)));
// (b) crash
process.on('exit', (c) => console.log('process exit code', c));
const big = '['.repeat(200000) + ']'.repeat(200000);
attacker.send(`{"type":"req","seq":3,"id":"a3","method":"echo","data":${big}}`);
await new Promise((r) => setTimeout(r, 1000));
console.log('(b) still alive');
await t.close(); process.exit(0);
