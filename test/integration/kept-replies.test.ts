import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RawPeer } from '../support/raw-peer.js';
import { startServer } from '../support/servers.js';

describe('the kept-reply limit over a real socket', () => {
  // It used to pause reading the socket at maxKeptReplies: the confirmations that would lift the
  // limit travel on that same socket behind the next request, so they were never read (a client
  // whose outbox holds as many requests as the limit, resending after a reconnect, hung for good).
  it('lets the confirmations in while the session is at its limit, and then answers the request that waited', async () => {
    const t = await startServer({ limits: { maxKeptReplies: 2 }, handlers: { echo: (data) => data } });
    const { peer } = await RawPeer.handshake(t.url);
    for (const seq of [1, 2]) peer.send({ type: 'req', seq, id: `r${seq}`, method: 'echo', data: seq });
    await peer.next('reply', (r) => r.seq === 1);
    await peer.next('reply', (r) => r.seq === 2);
    await new Promise((resolve) => setTimeout(resolve, 50)); // the limit is reached now
    peer.send({ type: 'req', seq: 3, id: 'r3', method: 'echo', data: 3 });
    peer.send({ type: 'ack', replies: [1, 2] });
    const third = await peer.next('reply', (r) => r.seq === 3, 3000);
    assert.deepEqual(third, { type: 'reply', seq: 3, ok: true, data: 3 });
    peer.close();
    await t.close();
  });
});
