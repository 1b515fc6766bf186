/**
 * The HTTP side of HoldfastServer over real sockets: every upgrade is answered (never left hanging,
 * never a crash), foreign browser origins are refused, the subprotocol is holdfast.v1 or none, and
 * close() does not wait on clients that never finish their request.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { afterEach, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { HoldfastClient } from '../../src/client/index.js';
import { HoldfastServer, type ServerOptions } from '../../src/server/index.js';
import { RawHttp, upgradeRequest } from '../support/raw-http.js';
import { RawPeer } from '../support/raw-peer.js';
import { startServer, type TestServer } from '../support/servers.js';
import { waitFor } from '../support/wait.js';

/** The outcome of a WebSocket upgrade from the `ws` client: 101 and the selected subprotocol, or the refusal's status. */
function upgrade(url: string, options: { origin?: string; protocols?: string[] } = {}): Promise<{ status: number; protocol: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options.protocols ?? [], options.origin === undefined ? {} : { origin: options.origin });
    ws.once('open', () => {
      resolve({ status: 101, protocol: ws.protocol });
      ws.terminate();
    });
    ws.once('unexpected-response', (_request, response) => {
      resolve({ status: response.statusCode ?? 0, protocol: '' });
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

const servers: Array<{ close(): Promise<void> | void }> = [];
// Bounded: on a server that leaves sockets hanging, close() never ends, and that must fail, not hang.
afterEach(
  async () => {
    for (const server of servers.splice(0)) await server.close();
  },
  { timeout: 15_000 },
);

async function start(options: ServerOptions = {}): Promise<TestServer & { errors: unknown[] }> {
  const errors: unknown[] = [];
  const server = await startServer({ onError: (error) => errors.push(error), ...options });
  servers.push(server);
  return { ...server, errors };
}

async function attached(options: ServerOptions = {}): Promise<{ http: Server; holdfast: HoldfastServer; port: number }> {
  const http = createServer((_, response) => response.end('page\n'));
  const holdfast = new HoldfastServer({ server: http, onError: () => undefined, ...options });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  servers.push({ close: () => holdfast.close().then(() => new Promise<void>((resolve) => http.close(() => resolve()))) });
  return { http, holdfast, port: (http.address() as { port: number }).port };
}

describe('upgrade requests', () => {
  // Guards issue 10 item 1: `new URL(request.url)` threw inside the 'upgrade' listener and the process died.
  it('answers 400 to a request-target the URL parser rejects, and keeps serving', async () => {
    const { port, url, errors } = await start();
    for (const target of ['http://[', '//::']) {
      const raw = await RawHttp.send(port, upgradeRequest(target));
      assert.equal(await raw.statusAtClose(), 400, target);
    }
    const peer = await RawPeer.greeted(url);
    peer.close();
    assert.deepEqual(errors, []);
  });

  // Guards issue 10 item 2: an upgrade to another path was never answered (the socket stayed in CLOSE-WAIT).
  it('answers 404 to an upgrade on another path and closes the socket', async () => {
    const own = await start();
    assert.equal(await (await RawHttp.send(own.port, upgradeRequest('/nope'))).statusAtClose(), 404);
    const { port } = await attached();
    assert.equal(await (await RawHttp.send(port, upgradeRequest('/nope?x=1'))).statusAtClose(), 404);
  });

  it('leaves other paths to another upgrade listener of the same server', async () => {
    const { http, port } = await attached();
    http.on('upgrade', (request, socket) => {
      if (request.url === '/other') socket.end('HTTP/1.1 418 I\'m a teapot\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    });
    assert.equal(await (await RawHttp.send(port, upgradeRequest('/other'))).statusAtClose(), 418);
  });

  // Not a regression test (our own HTTP server's closeAllConnections already covered it): keeps close()
  // prompt now that upgrades are answered and tracked. The standalone's case is in test/cli/serve-hardening.
  it('close() ends promptly with upgrade requests still open', async () => {
    const { server, port } = await startServer();
    const half = await RawHttp.send(port, upgradeRequest('/holdfast', {}, false));
    const nope = await RawHttp.send(port, upgradeRequest('/nope'));
    await server.close();
    await half.closed;
    await nope.closed;
  });

  // Guards issue 10 item 2: headersTimeout now applies to our own HTTP server (an option, for this test).
  it('answers 408 to an upgrade whose headers never end, after headersTimeout', async () => {
    const { port } = await start({ headersTimeout: 200 });
    const half = await RawHttp.send(port, upgradeRequest('/holdfast', {}, false));
    assert.equal(await half.statusAtClose(), 408);
  });

  // Node refuses a headersTimeout above requestTimeout; the option must not make the constructor throw.
  it('takes a headersTimeout above Node\'s 300 s requestTimeout', async () => {
    const { server } = await start({ headersTimeout: 400_000 });
    assert.equal(server.httpServer.headersTimeout, 400_000);
    assert.ok(server.httpServer.requestTimeout >= 400_000);
  });
});

describe('origins', () => {
  // Guards issue 10 item 9: any page on any site could open a WebSocket with the user's cookies.
  it('refuses a foreign browser origin with 403, without calling onError', async () => {
    const { url, errors } = await start();
    assert.equal((await upgrade(url, { origin: 'https://evil.example' })).status, 403);
    assert.equal((await upgrade(url, { origin: 'null' })).status, 403);
    assert.deepEqual(errors, []);
  });

  it('allows no Origin (not a browser), the same origin, and listed origins', async () => {
    const { url, port } = await start({ allowedOrigins: ['https://app.example', 'http://localhost:*'] });
    assert.equal((await upgrade(url)).status, 101);
    assert.equal((await upgrade(url, { origin: `http://127.0.0.1:${port}` })).status, 101);
    assert.equal((await upgrade(url, { origin: 'https://app.example' })).status, 101);
    assert.equal((await upgrade(url, { origin: 'http://localhost:5173' })).status, 101);
    assert.equal((await upgrade(url, { origin: 'https://app.example:8443' })).status, 403);
    assert.equal((await upgrade(url, { origin: 'http://127.0.0.1:1' })).status, 403, 'another port is another origin');
  });

  it("takes '*' and a function", async () => {
    const all = await start({ allowedOrigins: '*' });
    assert.equal((await upgrade(all.url, { origin: 'https://evil.example' })).status, 101);
    const asked: string[] = [];
    const fn = await start({ allowedOrigins: (origin) => (asked.push(origin), origin.endsWith('.trusted.example')) });
    assert.equal((await upgrade(fn.url, { origin: 'https://a.trusted.example' })).status, 101);
    assert.equal((await upgrade(fn.url, { origin: 'https://evil.example' })).status, 403);
    assert.equal((await upgrade(fn.url, { origin: `http://127.0.0.1:${fn.port}` })).status, 101);
    assert.deepEqual(asked, ['https://a.trusted.example', 'https://evil.example'], 'asked for cross-origin requests only');
  });

  // Issue 10 item 1: whatever throws while an upgrade is handled is answered 400 and reported, never thrown out.
  it('answers 400 and reports to onError when the origin function throws, and keeps serving', async () => {
    const boom = new Error('origin check failed');
    const { url, errors } = await start({
      allowedOrigins: () => {
        throw boom;
      },
    });
    assert.equal((await upgrade(url, { origin: 'https://evil.example' })).status, 400);
    assert.deepEqual(errors, [boom]);
    assert.equal((await upgrade(url)).status, 101);
  });
});

describe('subprotocol holdfast.v1', () => {
  // Guards issue 10 item 13: any offered subprotocol was echoed back.
  it('selects holdfast.v1, accepts no offer, and refuses only-other offers with 400', async () => {
    const { url } = await start();
    assert.deepEqual(await upgrade(url, { protocols: ['holdfast.v1'] }), { status: 101, protocol: 'holdfast.v1' });
    assert.deepEqual(await upgrade(url, { protocols: ['graphql-ws', 'holdfast.v1'] }), { status: 101, protocol: 'holdfast.v1' });
    assert.deepEqual(await upgrade(url), { status: 101, protocol: '' });
    assert.equal((await upgrade(url, { protocols: ['graphql-ws'] })).status, 400);
  });

  it('the Holdfast client offers it', async () => {
    const offered: Array<string | string[] | undefined> = [];
    const { url } = await start({
      authenticate: ({ request }) => (offered.push(request?.headers['sec-websocket-protocol']), 'someone'),
    });
    const client = new HoldfastClient({ url, WebSocket });
    try {
      client.connect();
      await waitFor(() => offered.length > 0, 'the hello');
      assert.deepEqual(offered, ['holdfast.v1']);
    } finally {
      client.close();
    }
  });
});

