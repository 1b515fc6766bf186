// A client that skips seq 1 grows doneAbove without bound; every session flush copies it.
import { RawPeer } from '../test/support/raw-peer.js';
import { startServer } from '../test/support/servers.js';
const t = await startServer({ limits: { messageRate: { perSecond: 1e9, burst: 1e9 } } });
const peer = await RawPeer.greeted(t.url);
const N = Number(process.argv[2] ?? 20000);
const start = Date.now();
for (let s = 2; s <= N + 1; s++) peer.send({ type: 'pub', topic: 'x', seq: s, id: `i${s}`, data: 0 });
const session = [...t.server.hub.sessions.values()][0]!;
while (session.ledger.doneAboveList().length < N) await new Promise((r) => setTimeout(r, 20));
console.log(N, 'frames, doneAbove size', session.ledger.doneAboveList().length, 'lastSeq', session.ledger.lastSeq, 'ms', Date.now() - start);
process.exit(0);
