import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CloseCode, ErrorCode, isRetryableClose } from '../../src/protocol/index.js';
import { MemoryStore } from '../../src/store/memory/index.js';
import { RawPeer } from '../support/raw-peer.js';
import { startServer } from '../support/servers.js';

describe('sessions a server keeps', () => {
  // A session outlives its connection by sessionTtl; a client connecting in a loop made the server
  // keep one per connection, without bound.
  it('refuses a new session beyond maxSessions with TOO_MANY_SESSIONS and 4503, and still resumes', async () => {
    const t = await startServer({ limits: { maxSessions: 2 } });
    const first = await RawPeer.handshake(t.url);
    const second = await RawPeer.handshake(t.url);
    first.peer.close();
    second.peer.close();
    const third = await RawPeer.connect(t.url);
    third.send({ type: 'hello', v: 1 });
    const error = await third.next('error');
    assert.equal(error.code, ErrorCode.TooManySessions);
    assert.equal(error.retryAfter, 10_000);
    assert.equal((await third.closedWith()).code, CloseCode.Unavailable);
    assert.ok(isRetryableClose(CloseCode.Unavailable));
    // A resume takes no new session: the client that holds one is not locked out.
    const { welcome } = await RawPeer.handshake(t.url, { resume: { session: first.welcome.session, token: first.welcome.token } });
    assert.equal(welcome.resumed, true);
    await t.close();
  });

  // The store could not say whether the session exists: a new session would orphan the client's
  // kept replies and cursors, so the server sends it away to come back (4503), never a new session.
  it('answers a resume the store cannot look up with STORE_UNAVAILABLE and 4503', async () => {
    class Unreachable extends MemoryStore {
      override loadSession(): Promise<never> {
        return Promise.reject(new Error('store unreachable'));
      }
    }
    const errors: unknown[] = [];
    const t = await startServer({ store: new Unreachable(), onError: (e) => errors.push(e) });
    const peer = await RawPeer.connect(t.url);
    peer.send({ type: 'hello', v: 1, resume: { session: 'elsewhere', token: 'x' } });
    const error = await peer.next('error');
    assert.equal(error.code, ErrorCode.StoreUnavailable);
    assert.equal((await peer.closedWith()).code, CloseCode.Unavailable);
    assert.match(String(errors[0]), /store unreachable/);
    await t.close();
  });
});
