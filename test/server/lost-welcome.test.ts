import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { WelcomeFrame } from '../../src/protocol/index.js';
import { Hub, MemoryStore } from '../../src/server/index.js';
import { FakeClock } from '../support/fake-clock.js';
import { FakeSocket } from '../support/fake-socket.js';
import { hubHarness } from '../support/hub-harness.js';

/**
 * The `welcome` of a resume carries a new token. When the connection dies right after the server
 * rotated it, the client never sees it and still holds the token it presented: that token must go
 * on working, or its next reconnect starts a new session and orphans the old one's kept replies
 * and cursors (2 of 461 reconnects under seeded faults). It stops working once the client has
 * shown it holds the newer one.
 */
describe('a welcome lost with its connection', () => {
  it('leaves the token the client presented valid until it resumes with the new one', async () => {
    const { hub, connect } = hubHarness();
    const welcomeOf = (socket: FakeSocket) => socket.ofType('welcome')[0] as WelcomeFrame;
    const resume = (session: string, token: string) => connect({ type: 'hello', v: 1, resume: { session, token } });

    const first = await connect();
    const { session, token: t1 } = welcomeOf(first.socket);
    hub.closed(first.connection);

    const second = await resume(session, t1);
    assert.equal(welcomeOf(second.socket).resumed, true);
    hub.closed(second.connection); // dies right after the rotation: its welcome (token t2) never arrives

    const third = await resume(session, t1);
    assert.equal(welcomeOf(third.socket).resumed, true, 'the token the client still holds works');
    assert.equal(welcomeOf(third.socket).session, session);
    const t3 = welcomeOf(third.socket).token;
    hub.closed(third.connection);

    const fourth = await resume(session, t3);
    assert.equal(welcomeOf(fourth.socket).resumed, true);
    hub.closed(fourth.connection);

    // The client has shown it holds t3: t1 (and the never-delivered t2) are void now.
    const stale = await resume(session, t1);
    assert.equal(welcomeOf(stale.socket).resumed, false);
    assert.notEqual(welcomeOf(stale.socket).session, session);
  });

  it('keeps the presented token valid across a restart of the server on the same store', async () => {
    const store = new MemoryStore();
    const open = () => {
      const clock = new FakeClock();
      return { clock, hub: new Hub({ clock, store, onError: (error) => assert.fail(String(error)) }) };
    };
    const say = async ({ hub, clock }: ReturnType<typeof open>, hello: object) => {
      const socket = new FakeSocket();
      const connection = hub.open(socket);
      hub.receive(connection, JSON.stringify(hello));
      await clock.idle();
      return { socket, connection, welcome: socket.ofType('welcome')[0] as WelcomeFrame };
    };
    const before = open();
    const first = await say(before, { type: 'hello', v: 1 });
    before.hub.closed(first.connection);
    const lost = await say(before, { type: 'hello', v: 1, resume: { session: first.welcome.session, token: first.welcome.token } });
    assert.equal(lost.welcome.resumed, true);
    await before.hub.close(); // the server restarts; the lost welcome's token was never seen by the client

    const after = open();
    const again = await say(after, { type: 'hello', v: 1, resume: { session: first.welcome.session, token: first.welcome.token } });
    assert.equal(again.welcome.resumed, true);
    await after.hub.close();
  });
});
