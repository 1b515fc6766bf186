import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HoldfastError } from '../../src/client/index.js';
import { tick } from './fake-server.js';
import { accept, reconnect, settle, start, startOpen } from './harness.js';

const transitions = (h: { states: Array<{ oldState: string; newState: string }> }) => h.states.map((s) => `${s.oldState}>${s.newState}`);

describe('HoldfastClient: reconnecting', () => {
  it('follows the full-jitter schedule, capped at maxDelay', async () => {
    const h = await start({ reconnect: { initialDelay: 1000, maxDelay: 8000 } });
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      h.socket.drop();
      const change = h.states.at(-1)!;
      assert.equal(change.newState, 'reconnecting');
      assert.equal(change.attempt, i + 1);
      assert.equal(change.retryAt, h.clock.now() + change.delay!);
      delays.push(change.delay!);
      h.clock.advance(change.delay! - 1);
      assert.equal(h.client.state, 'reconnecting');
      h.clock.advance(1);
      assert.equal(h.client.state, 'connecting');
      assert.equal(h.states.at(-1)?.attempt, i + 1);
      await tick();
    }
    assert.deepEqual(delays, [500, 1000, 2000, 4000, 4000, 4000]);
    assert.equal(h.server.sockets.length, 7);
  });

  it('emits disconnect with willReconnect, once per open connection', async () => {
    const h = await startOpen();
    h.socket.drop(1012, 'restart');
    assert.deepEqual(h.disconnects, [{ code: 1012, reason: 'restart', willReconnect: true }]);
    assert.deepEqual(transitions(h).slice(-1), ['open>reconnecting']);
    assert.equal(h.states.at(-1)?.code, 1012);
  });

  it('dropConnection() closes the socket like a network failure: reconnect and resume', async () => {
    const h = await startOpen();
    const first = h.socket;
    h.client.dropConnection();
    assert.ok(first.readyState >= 2, 'the socket was closed');
    assert.deepEqual(h.disconnects, [{ code: 1006, reason: 'dropped by the application', willReconnect: true }]);
    assert.equal(h.client.state, 'reconnecting');
    h.clock.advance(h.states.at(-1)!.delay!);
    await tick();
    assert.equal(h.server.sockets.length, 2, 'a new connection is attempted');
    h.client.close();
    h.client.dropConnection(); // harmless once closed
    assert.equal(h.client.state, 'closed');
  });

  it('resets the attempt counter after resetAfter ms of stable connection', async () => {
    const h = await start({ reconnect: { resetAfter: 5000 } });
    await reconnect(h);
    await reconnect(h);
    await reconnect(h);
    assert.deepEqual([h.states.at(-1)?.newState, h.states.at(-1)?.attempt], ['connecting', 3]);
    accept(h);
    h.clock.advance(5000);
    h.socket.drop();
    assert.equal(h.states.at(-1)?.attempt, 1);
    assert.equal(h.states.at(-1)?.delay, 500);
  });

  it('keeps counting when the connection drops before resetAfter', async () => {
    const h = await start({ reconnect: { resetAfter: 5000 } });
    await reconnect(h);
    await reconnect(h);
    accept(h);
    h.clock.advance(4999);
    h.socket.drop();
    assert.equal(h.states.at(-1)?.attempt, 3);
    assert.equal(h.states.at(-1)?.delay, 2000);
  });

  it('waits the server retryAfter plus the jittered delay', async () => {
    const h = await startOpen();
    h.socket.push({ type: 'error', code: 'TOO_MANY_CONNECTIONS', message: 'slow down', retryAfter: 10_000 });
    h.socket.drop(4429);
    assert.equal(h.states.at(-1)?.delay, 10_500);
    assert.equal(h.errors[0]?.code, 'TOO_MANY_CONNECTIONS');
    assert.equal(h.errors[0]?.retryAfter, 10_000);
  });

  // Guards the server's promise that a SLOW_CONSUMER close loses nothing: the client must come back.
  it('retries after 4413 SLOW_CONSUMER and sends its unconfirmed publish again', async () => {
    const h = await startOpen();
    const published = settle(h.client.publish('chat', 'hi'));
    await tick();
    assert.equal(h.socket.sentOf('pub').length, 1);
    h.socket.push({ type: 'error', code: 'SLOW_CONSUMER', message: 'read faster' });
    h.socket.drop(4413, 'SLOW_CONSUMER');
    assert.equal(h.client.state, 'reconnecting');
    h.clock.advance(h.states.at(-1)!.delay!);
    await tick();
    accept(h);
    await tick();
    assert.deepEqual(h.socket.sentOf('pub').map((f) => f.data), ['hi'], 'resent on the new connection');
    assert.equal(published.error, undefined, 'not rejected');
  });

  it('applies retryAfter only from the error frame right before the close', async () => {
    const h = await startOpen();
    h.socket.push({ type: 'error', code: 'RATE_LIMITED', message: 'easy', retryAfter: 10_000 });
    h.socket.push({ type: 'ping' });
    h.socket.drop(1006);
    assert.equal(h.states.at(-1)?.delay, 500);
  });

  for (const [code, errorCode] of [
    [4401, 'UNAUTHENTICATED'],
    [4426, 'UNSUPPORTED_VERSION'],
    [4400, 'INVALID_FRAME'],
  ] as const) {
    it(`does not retry after close ${code}; pending operations reject with the server's error code`, async () => {
      const h = await start();
      const published = settle(h.client.publish('chat', 'hi'));
      const subscription = h.client.subscribe('chat');
      h.socket.accept();
      h.socket.push({ type: 'error', code: errorCode, message: 'refused' });
      h.socket.drop(code, 'bye');
      await tick();
      assert.equal(h.client.state, 'closed');
      const last = h.states.at(-1)!;
      assert.deepEqual([last.final, last.code, last.reason, last.error?.code], [true, code, 'bye', errorCode]);
      assert.equal((published.error as HoldfastError).code, errorCode);
      await assert.rejects(subscription.ready, (e: HoldfastError) => e.code === errorCode);
      assert.equal(subscription.state, 'failed');
      h.clock.advance(120_000);
      assert.equal(h.server.sockets.length, 1);
      assert.equal(h.clock.pending, 0, 'no timer left');
    });
  }

  it('reconnects after 4409 (its own abandoned attempt replaced the session), keeping what is pending', async () => {
    const h = await startOpen();
    const published = settle(h.client.publish('chat', 'hi'));
    h.socket.drop(4409, 'replaced');
    await tick();
    assert.equal(h.client.state, 'reconnecting');
    assert.equal(published.error, undefined, 'the publish stays in the outbox');
    assert.deepEqual(h.disconnects, [{ code: 4409, reason: 'replaced', willReconnect: true }]);
  });

  it('retries 4408, 4409, 4500, 4503, 1001, 1009 and unknown codes', async () => {
    for (const code of [4408, 4409, 4500, 4503, 1001, 1009, 1012, 4999, 3000]) {
      const h = await startOpen();
      h.socket.drop(code);
      assert.equal(h.client.state, 'reconnecting', `code ${code}`);
    }
  });

  it('closes with RECONNECT_EXHAUSTED after maxAttempts', async () => {
    const h = await start({ reconnect: { maxAttempts: 2 } });
    const published = settle(h.client.publish('t', 1));
    await reconnect(h);
    await reconnect(h);
    h.socket.drop();
    await tick();
    assert.equal(h.client.state, 'closed');
    const last = h.states.at(-1)!;
    assert.equal(last.final, true);
    assert.equal(last.error?.code, 'RECONNECT_EXHAUSTED');
    assert.equal((published.error as HoldfastError).code, 'RECONNECT_EXHAUSTED');
    assert.equal(h.server.sockets.length, 3);
  });

  it('closes with RECONNECT_EXHAUSTED once maxElapsed passed since the loss', async () => {
    const h = await startOpen({ reconnect: { maxElapsed: 3000 } });
    await reconnect(h); // lost at t0, retry at t0+500
    await reconnect(h); // lost at t0+500, retry at t0+1500
    h.clock.advance(1500);
    h.socket.drop(); // t0+3000
    assert.equal(h.client.state, 'closed');
    assert.equal(h.states.at(-1)?.error?.code, 'RECONNECT_EXHAUSTED');
  });
});

describe('HoldfastClient: environment', () => {
  it('waits offline without a timer when the host is offline, and connects on online', async () => {
    const h = await startOpen();
    h.environment.online = false;
    h.socket.drop();
    assert.equal(h.client.state, 'offline');
    assert.deepEqual(h.disconnects.at(-1), { code: 1006, reason: '', willReconnect: true });
    assert.equal(h.clock.pending, 0);
    h.clock.advance(600_000);
    assert.equal(h.server.sockets.length, 1);
    h.environment.goOnline();
    assert.equal(h.client.state, 'connecting');
    await tick();
    assert.equal(h.server.sockets.length, 2);
  });

  it('the online event cuts a backoff wait short', async () => {
    const h = await start({ reconnect: { initialDelay: 60_000 } });
    h.socket.drop();
    assert.equal(h.client.state, 'reconnecting');
    h.environment.goOnline();
    assert.equal(h.client.state, 'connecting');
    await tick();
    assert.equal(h.server.sockets.length, 2);
    h.clock.advance(60_000);
    await tick();
    assert.equal(h.server.sockets.length, 2, 'the cancelled timer does not fire');
  });

  it('becoming visible cuts a backoff wait short', async () => {
    const h = await start({ reconnect: { initialDelay: 60_000 } });
    h.socket.drop();
    h.environment.becomeVisible();
    assert.equal(h.client.state, 'connecting');
  });

  it('the offline event drops an open socket at once and waits offline without a timer', async () => {
    const h = await startOpen();
    const socket = h.socket;
    h.environment.goOffline();
    assert.equal(h.client.state, 'offline');
    assert.ok(socket.readyState >= 2, 'the socket the network left behind is closed');
    assert.deepEqual(h.disconnects.at(-1), { code: 1006, reason: 'the network went offline', willReconnect: true });
    assert.equal(h.clock.pending, 0);
    h.environment.goOnline();
    assert.equal(h.client.state, 'connecting');
    await tick();
    assert.equal(h.server.sockets.length, 2);
  });

  it('the offline event turns a backoff wait into offline; online connects at once', async () => {
    const h = await start({ reconnect: { initialDelay: 60_000 } });
    h.socket.drop();
    assert.equal(h.client.state, 'reconnecting');
    h.environment.goOffline();
    assert.equal(h.client.state, 'offline');
    assert.equal(h.clock.pending, 0, 'the retry timer is gone');
    h.environment.goOnline();
    assert.equal(h.client.state, 'connecting');
  });

  it('online / visible events do nothing while connecting or open', async () => {
    const h = await startOpen();
    h.environment.goOnline();
    h.environment.becomeVisible();
    assert.equal(h.client.state, 'open');
    assert.equal(h.server.sockets.length, 1);
  });

  it('close() stops listening to the environment', async () => {
    const h = await startOpen();
    assert.equal(h.environment.listenerCount, 3);
    h.client.close();
    assert.equal(h.environment.listenerCount, 0);
  });
});
