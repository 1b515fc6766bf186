import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import WebSocket from 'ws';
import { CloseCode } from '../../src/protocol/index.js';
import { clientAddress } from '../../src/server/client-address.js';
import { startServer } from '../support/servers.js';

function request(peer: string, forwarded?: string): IncomingMessage {
  return { socket: { remoteAddress: peer }, headers: forwarded === undefined ? {} : { 'x-forwarded-for': forwarded } } as unknown as IncomingMessage;
}

/** Opens a WebSocket with an X-Forwarded-For header; resolves with its close code, or 0 while open. */
async function connectAs(url: string, forwarded: string): Promise<{ ws: WebSocket; closed: Promise<number> }> {
  const ws = new WebSocket(url, { headers: { 'x-forwarded-for': forwarded } });
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  ws.on('error', () => undefined);
  await new Promise((resolve) => ws.once('open', resolve));
  ws.send(JSON.stringify({ type: 'hello', v: 1 }));
  return { ws, closed };
}

describe('the client address behind proxies', () => {
  it('ignores X-Forwarded-For unless proxies are trusted, and then reads it from the right', () => {
    assert.equal(clientAddress(request('10.0.0.1', '1.2.3.4'), 0), '10.0.0.1');
    assert.equal(clientAddress(request('10.0.0.1', '1.2.3.4'), 1), '1.2.3.4');
    // A client that writes its own header only adds entries on the left: one trusted hop reads past them.
    assert.equal(clientAddress(request('10.0.0.1', '6.6.6.6, 1.2.3.4'), 1), '1.2.3.4');
    assert.equal(clientAddress(request('10.0.0.2', '6.6.6.6, 1.2.3.4, 10.0.0.1'), 2), '1.2.3.4');
    // Fewer entries than trusted hops, or garbage: the socket's peer.
    assert.equal(clientAddress(request('10.0.0.1'), 1), '10.0.0.1');
    assert.equal(clientAddress(request('10.0.0.1', 'not-an-address'), 1), '10.0.0.1');
  });

  // Guards docs/security.md "Behind a proxy": with every client behind one proxy address, the
  // per-address limit either counts the proxy (refusing everyone) or, when told, the clients.
  it('applies maxConnectionsPerAddress to the forwarded address only when told to trust it', async () => {
    const trusting = await startServer({ trustedProxies: 1, limits: { maxConnectionsPerAddress: 1 } });
    const a = await connectAs(trusting.url, '192.0.2.1');
    const b = await connectAs(trusting.url, '192.0.2.2');
    const a2 = await connectAs(trusting.url, '192.0.2.1');
    assert.equal(await a2.closed, CloseCode.TooManyConnections);
    for (const peer of [a, b]) peer.ws.terminate();
    await trusting.close();

    const plain = await startServer({ limits: { maxConnectionsPerAddress: 1 } });
    const c = await connectAs(plain.url, '192.0.2.1');
    const spoofed = await connectAs(plain.url, '192.0.2.2'); // a new address written by the client itself
    assert.equal(await spoofed.closed, CloseCode.TooManyConnections);
    c.ws.terminate();
    await plain.close();
  });
});
