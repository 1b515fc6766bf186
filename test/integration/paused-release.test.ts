import { describe, it } from 'node:test';
import { RawPeer } from '../support/raw-peer.js';
import { startServer } from '../support/servers.js';
import { waitFor } from '../support/wait.js';

/**
 * Found by the frame fuzzer (seed 7): a connection whose reading the server paused was not
 * released when its client disconnected with frames left unread in the server's socket buffer; it
 * stayed open, session attached, until the heartbeat bound (45 s by default) dropped it. At the
 * kept-reply limit the server now keeps reading (the connection goes at once); a rate-limit pause
 * lasts at most burst / perSecond seconds (2 s by default), after which the close is read.
 */
describe('a connection the server stopped reading', () => {
  it('is released as soon as the client disconnects', async () => {
    const t = await startServer({ limits: { maxKeptReplies: 2 }, handlers: { echo: (data) => data } });
    try {
      const peer = await RawPeer.greeted(t.url);
      peer.send({ type: 'req', seq: 1, id: 'r1', method: 'echo', data: 1 });
      peer.send({ type: 'req', seq: 2, id: 'r2', method: 'echo', data: 2 });
      await peer.next('reply', (r) => r.seq === 2); // two replies kept: the server stops reading
      peer.send({ type: 'ping' }); // left unread in the server's socket buffer
      await new Promise((resolve) => setTimeout(resolve, 100));
      peer.close();
      await waitFor(() => t.server.hub.stats().connections === 0, 'the server to release the connection', 3000);
    } finally {
      await t.close();
    }
  });

  it('is released once the rate-limit pause ends, not at the heartbeat bound, when the rate limit paused it', async () => {
    const t = await startServer({ limits: { messageRate: { perSecond: 1, burst: 2 } } });
    try {
      const peer = await RawPeer.greeted(t.url);
      for (let i = 0; i < 5; i++) peer.send({ type: 'ping' }); // past the burst: reading pauses for seconds
      await peer.next('error'); // RATE_LIMITED
      peer.send({ type: 'ping' }); // left unread in the server's socket buffer
      await new Promise((resolve) => setTimeout(resolve, 100));
      peer.close();
      // The debt is at most one burst: 2 frames at 1 per second.
      await waitFor(() => t.server.hub.stats().connections === 0, 'the server to release the connection', 4000);
    } finally {
      await t.close();
    }
  });
});
