import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CloseCode, ErrorCode } from '../../src/protocol/index.js';
import { RawPeer } from '../support/raw-peer.js';
import { startServer, type TestServer } from '../support/servers.js';

const users: Record<string, string> = { alice: 'wonderland', bob: 'builder' };

describe('authentication and resume tokens', () => {
  let t: TestServer;

  before(async () => {
    t = await startServer({
      authenticate: ({ auth }) => {
        const { user, password } = (auth ?? {}) as { user?: string; password?: string };
        return user !== undefined && users[user] === password ? { id: user } : null;
      },
      authorize: ({ identity, topic }) => !topic.startsWith('inbox:') || topic === `inbox:${identity?.id}`,
    });
  });
  after(() => t.close());

  const alice = { auth: { user: 'alice', password: 'wonderland' } };
  const bob = { auth: { user: 'bob', password: 'builder' } };

  it('refuses wrong credentials with 4401 UNAUTHENTICATED', async () => {
    const peer = await RawPeer.connect(t.url);
    peer.send({ type: 'hello', v: 1, auth: { user: 'alice', password: 'guess' } });
    assert.equal((await peer.next('error')).code, ErrorCode.Unauthenticated);
    assert.equal((await peer.closedWith()).code, CloseCode.Unauthenticated);
  });

  it("refuses another identity's resume token, and the owner can still resume", async () => {
    const owner = await RawPeer.connect(t.url);
    owner.send({ type: 'hello', v: 1, ...alice });
    const welcome = await owner.next('welcome');
    owner.close();

    const thief = await RawPeer.connect(t.url);
    thief.send({ type: 'hello', v: 1, ...bob, resume: { session: welcome.session, token: welcome.token } });
    const stolen = await thief.next('welcome');
    assert.equal(stolen.resumed, false);
    assert.notEqual(stolen.session, welcome.session);
    thief.close();

    const back = await RawPeer.connect(t.url);
    back.send({ type: 'hello', v: 1, ...alice, resume: { session: welcome.session, token: welcome.token } });
    const resumed = await back.next('welcome');
    assert.equal(resumed.resumed, true, 'the refused attempt did not spoil the real token');
    back.close();
  });

  it('refuses an old rotated token', async () => {
    const first = await RawPeer.connect(t.url);
    first.send({ type: 'hello', v: 1, ...alice });
    const w1 = await first.next('welcome');
    first.close();
    const second = await RawPeer.connect(t.url);
    second.send({ type: 'hello', v: 1, ...alice, resume: { session: w1.session, token: w1.token } });
    const w2 = await second.next('welcome');
    assert.equal(w2.resumed, true);
    second.close();
    // The client shows it holds the newer token: the first one is void from then on.
    const third = await RawPeer.connect(t.url);
    third.send({ type: 'hello', v: 1, ...alice, resume: { session: w1.session, token: w2.token } });
    assert.equal((await third.next('welcome')).resumed, true);
    third.close();
    const replay = await RawPeer.connect(t.url);
    replay.send({ type: 'hello', v: 1, ...alice, resume: { session: w1.session, token: w1.token } });
    const w3 = await replay.next('welcome');
    assert.equal(w3.resumed, false, 'the token of the first welcome was rotated out');
    assert.notEqual(w3.session, w1.session);
    replay.close();
  });

  it('refuses a guessed session id', async () => {
    const owner = await RawPeer.connect(t.url);
    owner.send({ type: 'hello', v: 1, ...alice });
    const welcome = await owner.next('welcome');
    const guesser = await RawPeer.connect(t.url);
    guesser.send({ type: 'hello', v: 1, ...alice, resume: { session: welcome.session, token: 'A'.repeat(22) } });
    const answer = await guesser.next('welcome');
    assert.equal(answer.resumed, false);
    assert.notEqual(answer.session, welcome.session);
    assert.equal(owner.closed, undefined, 'the real session was not taken over');
    owner.close();
    guesser.close();
  });

  it('authorizes per topic and action: FORBIDDEN for subscribe and publish', async () => {
    const peer = await RawPeer.connect(t.url);
    peer.send({ type: 'hello', v: 1, ...bob });
    await peer.next('welcome');
    peer.send({ type: 'sub', topic: 'inbox:alice' });
    assert.equal((await peer.next('error', (e) => e.topic === 'inbox:alice')).code, ErrorCode.Forbidden);
    peer.send({ type: 'pub', topic: 'inbox:alice', data: 'hi', seq: 1, id: 'x1' });
    const reply = await peer.next('reply');
    assert.equal(!reply.ok && reply.error.code, ErrorCode.Forbidden);
    peer.send({ type: 'sub', topic: 'inbox:bob' });
    assert.equal((await peer.next('subscribed')).topic, 'inbox:bob');
    const stored = await t.server.hub.store.info('inbox:alice');
    assert.equal(stored.head, 0, 'the refused publish was not stored');
    peer.close();
  });
});
