/**
 * `holdfast serve` as a real child process against hostile or careless clients: it stays alive, it
 * answers every request, it shuts down on time with its store closed, and anonymous clients may do
 * what its start-up line says and no more.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { get } from 'node:http';
import { connect } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { RawHttp, upgradeRequest } from '../support/raw-http.js';
import { RawPeer } from '../support/raw-peer.js';
import { cli, finished, listening, type Finished } from './helpers.js';

interface Serving {
  child: ChildProcess;
  url: string;
  wsUrl: string;
  port: number;
  stdout: () => string;
  exit: Promise<Finished>;
}

const children: ChildProcess[] = [];
const folders: string[] = [];

async function serve(args: string[]): Promise<Serving> {
  const child = cli(['serve', '--port', '0', '--no-prices', ...args]);
  children.push(child);
  let stdout = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const exit = finished(child);
  const { url, wsUrl } = await listening(child);
  return { child, url, wsUrl, port: Number(new URL(url).port), stdout: () => stdout, exit };
}

/** The status of a `ws` upgrade: 101, or the refusal's. `host` replaces the Host header. */
function upgradeStatus(url: string, origin?: string, host?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { ...(origin === undefined ? {} : { origin }), ...(host === undefined ? {} : { headers: { host } }) });
    ws.once('open', () => (resolve(101), ws.terminate()));
    ws.once('unexpected-response', (_request, response) => (resolve(response.statusCode ?? 0), ws.terminate()));
    ws.once('error', reject);
  });
}

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});
after(async () => {
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
});

describe('holdfast serve under hostile input', () => {
  // Guards issue 10 item 1: one malformed upgrade request killed the process (`new URL` threw in the listener).
  it('survives malformed upgrade requests and resets, and keeps serving a client', async () => {
    const server = await serve(['--memory']);
    for (const target of ['http://[', '//::']) {
      const raw = await RawHttp.send(server.port, upgradeRequest(target));
      assert.equal(await raw.statusAtClose(), 400, target);
    }
    // Upgrades reset by the client while the server answers: the socket's error must not crash it.
    for (let i = 0; i < 20; i += 1) {
      const socket = connect(server.port, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.once('connect', () => socket.end(upgradeRequest(i % 2 === 0 ? '/nope' : 'http://[')));
      socket.once('data', () => socket.resetAndDestroy());
    }
    const { peer, welcome } = await RawPeer.handshake(server.wsUrl);
    assert.equal(welcome.type, 'welcome');
    peer.close();
    assert.equal(server.child.exitCode, null, 'still running');
  });

  // Guards issue 10 item 2: an unanswered upgrade to another path made SIGTERM time out (exit 1, store left open).
  it('exits 0 on SIGTERM with stray upgrades and unfinished requests open, and leaves the data folder usable', async () => {
    const data = await mkdtemp(join(tmpdir(), 'holdfast-hardening-'));
    folders.push(data);
    const server = await serve(['--data', data]);
    const stray = await RawHttp.send(server.port, upgradeRequest('/nope'));
    const half = await RawHttp.send(server.port, upgradeRequest('/holdfast', {}, false));
    const body = await RawHttp.send(
      server.port,
      `POST /api/publish HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"topic":`,
    );
    server.child.kill('SIGTERM');
    const { code, stdout } = await server.exit;
    assert.equal(code, 0, stdout);
    for (const raw of [stray, half, body]) raw.destroy();
    // The store was closed: its lock is free for the next start on the same folder.
    const again = await serve(['--data', data]);
    again.child.kill('SIGTERM');
    assert.equal((await again.exit).code, 0);
  });
});

describe('holdfast serve: what anonymous clients may do', () => {
  // Guards issue 10 item 10: anonymous clients could publish to the server-fed `prices`.
  it('names it at start-up, and refuses client publishes to prices with FORBIDDEN', async () => {
    const server = await serve(['--memory']);
    assert.match(server.stdout(), /^anonymous clients: subscribe chat:\*, prices, typing:\*; publish chat:\*, typing:\*$/m);
    const peer = await RawPeer.greeted(server.wsUrl);
    peer.send({ type: 'pub', topic: 'prices', data: { price: 0 }, key: 'ACME', seq: 1, id: 'p1' });
    const refused = await peer.next('reply');
    assert.deepEqual([refused.ok, refused.ok ? undefined : refused.error.code], [false, 'FORBIDDEN']);
    peer.send({ type: 'pub', topic: 'chat:lobby', data: 'hi', seq: 2, id: 'c1' });
    assert.equal((await peer.next('ack', (ack) => ack.seq === 2)).seq, 2);
    peer.close();
  });
});

describe('holdfast serve: origins', () => {
  // Guards issue 10 item 9: a page on any site could open a WebSocket to a local server.
  it('refuses foreign origins, allows loopback pages and --allow-origin ones', async () => {
    const server = await serve(['--memory', '--allow-origin', 'https://app.example']);
    assert.equal(await upgradeStatus(server.wsUrl, 'https://evil.example'), 403);
    assert.equal(await upgradeStatus(server.wsUrl, 'http://localhost:5173'), 101);
    assert.equal(await upgradeStatus(server.wsUrl, 'http://[::1]:3000'), 101);
    assert.equal(await upgradeStatus(server.wsUrl, server.url), 101);
    assert.equal(await upgradeStatus(server.wsUrl, 'https://app.example'), 101);
    assert.equal(await upgradeStatus(server.wsUrl), 101);
  });

  // DNS rebinding: a page on evil.example whose name now resolves to 127.0.0.1 is same-origin with
  // the server as far as its browser knows (Origin and Host are both evil.example). Bound to
  // loopback, serve answers only to localhost and IP literals, on every route.
  it('refuses a rebound host name on loopback, for upgrades and pages, unless --allow-host names it', async () => {
    const server = await serve(['--memory']);
    const rebound = `evil.example:${server.port}`;
    assert.equal(await upgradeStatus(server.wsUrl, `http://${rebound}`, rebound), 403);
    assert.equal(await upgradeStatus(server.wsUrl, undefined, rebound), 403);
    assert.equal(await upgradeStatus(server.wsUrl, `http://localhost:${server.port}`, `localhost:${server.port}`), 101);
    // node:http, not fetch: fetch does not let a caller set Host.
    const page = (host: string) =>
      new Promise<number>((resolve, reject) => {
        get(`${server.url}/`, { headers: { host } }, (response) => (resolve(response.statusCode ?? 0), response.resume())).once('error', reject);
      });
    assert.equal(await page(rebound), 403);
    assert.equal(await page(`localhost:${server.port}`), 200);
    assert.equal(await page(`127.0.0.1:${server.port}`), 200);
    const named = await serve(['--memory', '--allow-host', 'evil.example']);
    assert.equal(await upgradeStatus(named.wsUrl, `http://evil.example:${named.port}`, `evil.example:${named.port}`), 101);
  });

  it("--allow-origin '*' allows every origin", async () => {
    const server = await serve(['--memory', '--allow-origin', '*']);
    assert.equal(await upgradeStatus(server.wsUrl, 'https://evil.example'), 101);
  });
});

describe('holdfast serve: connections per address', () => {
  // Guards issue 10 item 13: one address could open any number of WebSockets.
  it('closes connections beyond the limit with 4429 (64 by default)', async () => {
    const limited = await serve(['--memory', '--max-connections-per-address', '2']);
    const peers = [await RawPeer.greeted(limited.wsUrl), await RawPeer.greeted(limited.wsUrl)];
    const third = await RawPeer.connect(limited.wsUrl);
    assert.equal((await third.closedWith()).code, 4429);
    for (const peer of peers) peer.close();

    const byDefault = await serve(['--memory']);
    const many: RawPeer[] = [];
    for (let i = 0; i < 64; i += 1) many.push(await RawPeer.greeted(byDefault.wsUrl));
    const over = await RawPeer.connect(byDefault.wsUrl);
    assert.equal((await over.closedWith()).code, 4429);
    for (const peer of many) peer.close();
  });
});
