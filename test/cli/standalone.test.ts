import assert from 'node:assert/strict';
import { RawPeer } from '../support/raw-peer.js';
import { rm } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { startStandalone, type Standalone } from '../../src/cli/standalone.js';
import { DEFAULT_SYMBOLS } from '../../src/cli/price-feed.js';
import { buildLib, http, publish } from './helpers.js';

describe('standalone server', () => {
  let app: Standalone;
  let libDir: string;
  const sockets: RawPeer[] = [];

  const connect = async () => {
    const { peer: client, welcome } = await RawPeer.handshake(app.wsUrl);
    sockets.push(client);
    return { client, welcome };
  };

  before(async () => {
    libDir = await buildLib();
    app = await startStandalone({ port: 0, libDir });
  });

  after(async () => {
    for (const socket of sockets) socket.close();
    await app.close();
    await rm(libDir, { recursive: true, force: true });
  });

  it('reports the port it really bound and the URLs built from it', () => {
    assert.ok(app.port > 0);
    assert.equal(app.url, `http://127.0.0.1:${app.port}`);
    assert.equal(app.wsUrl, `ws://127.0.0.1:${app.port}/holdfast`);
  });

  describe('static files', () => {
    it('serves the demo page at /', async () => {
      const response = await http(app.url, '/');
      assert.equal(response.status, 200);
      assert.match(String(response.headers['content-type']), /^text\/html/);
      assert.match(response.body, /<title>Holdfast demo<\/title>/);
      assert.match(response.body, /app\.js/);
    });

    it('serves the demo script and stylesheet with their content types', async () => {
      const script = await http(app.url, '/app.js');
      assert.equal(script.status, 200);
      assert.match(String(script.headers['content-type']), /^text\/javascript/);
      assert.match(script.body, /\/lib\/browser\/holdfast-client\.js/);
      const style = await http(app.url, '/style.css');
      assert.equal(style.status, 200);
      assert.match(String(style.headers['content-type']), /^text\/css/);
    });

    it('serves the browser bundle of the client, plain and minified, as JavaScript modules', async () => {
      for (const file of ['holdfast-client.js', 'holdfast-client.min.js']) {
        const bundle = await http(app.url, `/lib/browser/${file}`);
        assert.equal(bundle.status, 200, file);
        assert.match(String(bundle.headers['content-type']), /^text\/javascript/, file);
        assert.match(bundle.body, /HoldfastClient/, file);
        assert.doesNotMatch(bundle.body, /^\s*import[\s{*"']/m, `${file}: one file, nothing more to fetch`);
      }
    });

    it('answers HEAD without a body', async () => {
      const response = await http(app.url, '/', { method: 'HEAD' });
      assert.equal(response.status, 200);
      assert.equal(response.body, '');
      assert.ok(Number(response.headers['content-length']) > 0);
    });

    it('answers 404 for missing files and for folders outside browser/', async () => {
      assert.equal((await http(app.url, '/nope.js')).status, 404);
      assert.equal((await http(app.url, '/lib/browser/nope.js')).status, 404);
      assert.equal((await http(app.url, '/lib/server/index.js')).status, 404);
      assert.equal((await http(app.url, '/lib/browser/index.js')).status, 404);
      assert.equal((await http(app.url, '/lib/browser/')).status, 404);
    });

    it('refuses path traversal, plain and encoded', async () => {
      const attempts = [
        '/lib/browser/../../package.json',
        '/lib/browser/../../../package.json',
        '/lib/browser/%2e%2e/%2e%2e/package.json',
        '/lib/browser/%2E%2E/%2E%2E/package.json',
        '/lib/browser/..%2f..%2fpackage.json',
        '/lib/browser/..%2F..%2Fpackage.json',
        '/lib/browser/..%5c..%5cpackage.json',
        '/lib/browser/.%2e/.%2e/package.json',
        '/lib/browser/%252e%252e/%252e%252e/package.json',
        '/lib/browser/%c0%ae%c0%ae/package.json',
        '/lib/browser/%00',
        '/../package.json',
        '/%2e%2e/package.json',
        '/..%2fpackage.json',
        '/%2e%2e%2fsrc%2fcli%2fmain.ts',
      ];
      for (const path of attempts) {
        const response = await http(app.url, path);
        assert.ok(response.status === 400 || response.status === 404, `${path} → ${response.status}`);
        assert.doesNotMatch(response.body, /"name"|holdfast serve/, path);
      }
    });

    it('refuses methods other than GET and HEAD', async () => {
      const response = await http(app.url, '/', { method: 'POST', body: 'x' });
      assert.equal(response.status, 405);
    });

    it('tells the page its WebSocket path', async () => {
      const response = await http(app.url, '/config.json');
      assert.equal(response.status, 200);
      assert.deepEqual(JSON.parse(response.body), { wsPath: '/holdfast' });
    });
  });

  describe('POST /api/publish', () => {
    it('stores the message and a subscribed WebSocket client receives it', async () => {
      const { client } = await connect();
      client.send({ type: 'sub', topic: 'chat:api', from: 'start' });
      const subscribed = await client.next('subscribed');
      assert.equal(subscribed.topic, 'chat:api');
      assert.equal(subscribed.mode, 'reliable');

      const response = await publish(app.url, { topic: 'chat:api', data: { text: 'hello from curl' } });
      assert.equal(response.status, 200);
      assert.match(String(response.headers['content-type']), /^application\/json/);
      assert.deepEqual(JSON.parse(response.body), { offset: 1 });

      const message = await client.next('msg');
      assert.deepEqual(message, { type: 'msg', topic: 'chat:api', data: { text: 'hello from curl' }, offset: 1 });
    });

    it('stores messages for later subscribers (from start), with keys carried through', async () => {
      const first = await publish(app.url, { topic: 'chat:later', data: 'one' });
      const second = await publish(app.url, { topic: 'chat:later', data: null, key: 'k' });
      assert.deepEqual([JSON.parse(first.body), JSON.parse(second.body)], [{ offset: 1 }, { offset: 2 }]);
      const { client } = await connect();
      client.send({ type: 'sub', topic: 'chat:later', from: 'start' });
      await client.next('subscribed');
      assert.deepEqual(await client.next('msg'), { type: 'msg', topic: 'chat:later', data: 'one', offset: 1 });
      assert.deepEqual(await client.next('msg'), { type: 'msg', topic: 'chat:later', data: null, offset: 2, key: 'k' });
    });

    it('answers {} without an offset for a volatile topic', async () => {
      const response = await publish(app.url, { topic: 'typing:lobby', data: { name: 'x' } });
      assert.equal(response.status, 200);
      assert.deepEqual(JSON.parse(response.body), {});
    });

    const errorCases: Array<[string, string | object, number, string]> = [
      ['bad JSON', '{"topic": ', 400, 'MALFORMED_FRAME'],
      ['a JSON array', '[1, 2]', 400, 'MALFORMED_FRAME'],
      ['no topic', { data: 1 }, 400, 'INVALID_FRAME'],
      ['a topic that is not a string', { topic: 7, data: 1 }, 400, 'INVALID_FRAME'],
      ['no data', { topic: 'chat:x' }, 400, 'INVALID_FRAME'],
      ['a key that is not a string', { topic: 'chat:x', data: 1, key: 5 }, 400, 'INVALID_FRAME'],
      ['an unknown topic', { topic: 'nowhere', data: 1 }, 400, 'UNKNOWN_TOPIC'],
      ['an invalid topic name', { topic: '', data: 1 }, 400, 'INVALID_TOPIC'],
    ];
    for (const [name, body, status, code] of errorCases) {
      it(`answers ${status} ${code} for ${name}`, async () => {
        const response = await publish(app.url, body);
        assert.equal(response.status, status);
        const parsed = JSON.parse(response.body) as { error: { code: string; message: string } };
        assert.equal(parsed.error.code, code);
        assert.equal(typeof parsed.error.message, 'string');
      });
    }

    it('answers 413 for a body over 1 MiB', async () => {
      const big = JSON.stringify({ topic: 'chat:big', data: 'x'.repeat(1024 * 1024) });
      const response = await publish(app.url, big);
      assert.equal(response.status, 413);
      assert.equal((JSON.parse(response.body) as { error: { code: string } }).error.code, 'PAYLOAD_TOO_LARGE');
    });

    it('answers 405 for GET and 404 for other API paths', async () => {
      const get = await http(app.url, '/api/publish');
      assert.equal(get.status, 405);
      assert.equal(get.headers.allow, 'POST');
      assert.equal((await http(app.url, '/api/other', { method: 'POST', body: '{}' })).status, 404);
    });
  });

  describe('price feed', () => {
    it('publishes every symbol to the latest topic `prices`, keyed by symbol', async () => {
      const { client } = await connect();
      client.send({ type: 'sub', topic: 'prices' });
      const subscribed = await client.next('subscribed');
      assert.equal(subscribed.mode, 'latest');
      const seen = new Set<string>();
      while (seen.size < Object.keys(DEFAULT_SYMBOLS).length) {
        const message = await client.next('msg');
        const data = message.data as { symbol: string; price: number; change: number };
        assert.equal(message.topic, 'prices');
        assert.equal(message.key, data.symbol);
        assert.ok(data.symbol in DEFAULT_SYMBOLS);
        assert.ok(Number.isFinite(data.price) && data.price > 0);
        assert.ok(Number.isFinite(data.change));
        seen.add(data.symbol);
      }
    });

    it('keeps ticking: a new price arrives within a few intervals', async () => {
      const { client } = await connect();
      client.send({ type: 'sub', topic: 'prices', from: 'now' });
      await client.next('subscribed');
      const message = await client.next('msg', undefined, 3000);
      assert.equal(message.topic, 'prices');
    });
  });
});

describe('standalone server with --api-key', () => {
  let app: Standalone;
  before(async () => {
    app = await startStandalone({ port: 0, apiKey: 's3cret', priceFeed: false });
  });
  after(() => app.close());

  it('answers 401 without the key', async () => {
    const response = await publish(app.url, { topic: 'chat:k', data: 1 });
    assert.equal(response.status, 401);
    assert.equal(response.headers['www-authenticate'], 'Bearer');
    assert.equal((JSON.parse(response.body) as { error: { code: string } }).error.code, 'UNAUTHENTICATED');
  });

  it('answers 401 for a wrong key or scheme', async () => {
    for (const authorization of ['Bearer wrong', 'Bearer s3cret2', 'Basic s3cret', 's3cret', 'Bearer ']) {
      const response = await publish(app.url, { topic: 'chat:k', data: 1 }, { Authorization: authorization });
      assert.equal(response.status, 401, authorization);
    }
  });

  it('checks the key before looking at the body', async () => {
    const response = await publish(app.url, 'not json');
    assert.equal(response.status, 401);
  });

  it('accepts the right key', async () => {
    const response = await publish(app.url, { topic: 'chat:k', data: 1 }, { Authorization: 'Bearer s3cret' });
    assert.equal(response.status, 200);
    assert.deepEqual(JSON.parse(response.body), { offset: 1 });
  });
});

describe('standalone close', () => {
  it('closes WebSockets with 1001 so clients reconnect, then stops listening', async () => {
    const app = await startStandalone({ port: 0, priceFeed: { interval: 10 } });
    const { peer: client } = await RawPeer.handshake(app.wsUrl);
    await app.close();
    assert.equal((await client.closedWith()).code, 1001);
    assert.equal(app.http.listening, false);
    await app.close(); // idempotent
  });

  it('fails clearly when the port is taken', async () => {
    const first = await startStandalone({ port: 0, priceFeed: false });
    try {
      await assert.rejects(startStandalone({ port: first.port, priceFeed: false }), { code: 'EADDRINUSE' });
    } finally {
      await first.close();
    }
  });

  it('serves the WebSocket on a custom path', async () => {
    const app = await startStandalone({ port: 0, path: '/ws', priceFeed: false });
    try {
      assert.equal(app.wsUrl, `ws://127.0.0.1:${app.port}/ws`);
      const { peer: client, welcome } = await RawPeer.handshake(app.wsUrl);
      assert.equal(welcome.resumed, false);
      client.close();
      assert.deepEqual(JSON.parse((await http(app.url, '/config.json')).body), { wsPath: '/ws' });
    } finally {
      await app.close();
    }
  });
});
