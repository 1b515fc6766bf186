import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { CloseCode } from '../../src/protocol/index.js';
import type { ServerOptions } from '../../src/server/index.js';
import { closeClients, makeClient } from '../support/clients.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { startServer, type TestServer } from '../support/servers.js';
import { waitFor } from '../support/wait.js';
import { internals } from '../support/hub-internals.js';

const INTERVAL = 300;
const SWEEP = 50;
/** Timers on a loaded 2-core machine fire late; this is slack for scheduling, not for the protocol. */
const SLACK = 400;
/** A bound long enough that the other side never reaches it during a test. */
const NEVER = 60_000;

let t: TestServer | undefined;
let proxy: TcpProxy | undefined;
afterEach(async () => {
  closeClients();
  await proxy?.close();
  await t?.close();
});

async function setup(server: ServerOptions, heartbeatGrace: number) {
  t = await startServer({ sweepInterval: SWEEP, ...server });
  proxy = await TcpProxy.start(t.port);
  const client = makeClient(`ws://127.0.0.1:${proxy.port}/holdfast`, { heartbeatGrace });
  const received: unknown[] = [];
  await client.subscribe('news', (data) => received.push(data)).ready;
  await t.server.publish('news', 'before');
  await waitFor(() => received.length === 1, 'the first message');
  return { server: t.server, proxy, client, received };
}

/**
 * A silent peer: a proxy keeps both TCP connections open but forwards nothing (a dead NAT entry,
 * a half-open socket). Each side notices within its heartbeat bound; the other side's bound is set
 * out of reach so each detection is seen on its own.
 */
describe('silent peer detection', () => {
  it('the server drops a silent client within interval + timeout and frees its resources', async () => {
    const TIMEOUT = 300;
    const { server, proxy, client } = await setup({ heartbeat: { interval: INTERVAL, timeout: TIMEOUT } }, NEVER);
    const session = internals(server.hub).sessions.get(client.session!)!;
    const connection = session.connection!;
    const silencedAt = Date.now();
    proxy.blackholeAll();
    await waitFor(() => connection.state === 'closed', 'the server to drop the connection');
    const delay = Date.now() - silencedAt;
    assert.ok(delay >= TIMEOUT, `dropped after only ${delay} ms of silence`);
    assert.ok(delay <= INTERVAL + TIMEOUT + 2 * SWEEP + SLACK, `dropped after ${delay} ms`);
    assert.equal(session.connection, null, 'dropped by the heartbeat, not replaced by a resume');
    assert.equal(server.hub.stats().connections, 0);
    assert.equal(server.hub.stats().subscriptions, 0, 'its subscriptions are freed');
  });

  it('the client notices a silent server within interval + grace, reconnects at once and resumes', async () => {
    const GRACE = 200;
    const { server, proxy, client, received } = await setup({ heartbeat: { interval: INTERVAL, timeout: NEVER } }, GRACE);
    const sessionId = client.session;
    const disconnects: Array<{ code: number; at: number }> = [];
    const opens: boolean[] = [];
    client.on('disconnect', ({ code }) => disconnects.push({ code, at: Date.now() }));
    client.on('open', ({ resumed }) => opens.push(resumed));
    const silencedAt = Date.now();
    proxy.blackholeAll();
    await waitFor(() => disconnects.length > 0, 'the client to notice');
    const delay = disconnects[0]!.at - silencedAt;
    assert.equal(disconnects[0]!.code, CloseCode.HeartbeatTimeout);
    assert.ok(delay <= INTERVAL + GRACE + SLACK, `noticed after ${delay} ms`);
    await waitFor(() => opens.length > 0, 'the reconnect');
    assert.deepEqual(opens, [true], 'resumed the same session');
    assert.equal(client.session, sessionId);
    await server.publish('news', 'after');
    await waitFor(() => received.length === 2, 'the message after the reconnect');
    assert.deepEqual(received, ['before', 'after']);
  });
});
