/**
 * The standalone server's HTTP routes over real HTTP: the publish API answers a client's mistakes
 * with 4xx and its code (never 500, never onError), refuses non-JSON and cross-site posts, and gives
 * up on slow bodies; the static routes stay inside their folder and send their security headers.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startStandalone, type Standalone } from '../../src/cli/standalone.js';
import { RawHttp, upgradeRequest } from '../support/raw-http.js';
import { http, publish } from './helpers.js';

describe('standalone HTTP hardening', () => {
  let app: Standalone;
  let root: string;
  const errors: unknown[] = [];

  before(async () => {
    // A demo folder holding a symlink to a file outside it, and one to a file inside it.
    root = await mkdtemp(join(tmpdir(), 'holdfast-static-'));
    const demoDir = join(root, 'demo');
    await mkdir(demoDir);
    await writeFile(join(root, 'secret.txt'), 'outside the served folder\n');
    await writeFile(join(demoDir, 'index.html'), '<!doctype html><title>t</title>\n');
    await writeFile(join(demoDir, 'inside.txt'), 'inside\n');
    await symlink(join(root, 'secret.txt'), join(demoDir, 'leak.txt'));
    await symlink(join(demoDir, 'inside.txt'), join(demoDir, 'alias.txt'));
    app = await startStandalone({ port: 0, priceFeed: false, demoDir, bodyTimeoutMs: 300, headersTimeout: 300, server: { onError: (error) => errors.push(error), limits: { maxPayload: 4096 } } });
  });

  after(async () => {
    await app.close();
    await rm(root, { recursive: true, force: true });
  });

  const errorOf = (body: string) => (JSON.parse(body) as { error: { code: string } }).error.code;

  // Guards issue 10 item 11: these were answered 500 with a stack trace in the log.
  it('answers a client mistake with 4xx and its code, never 500 or onError', async () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100; i += 1) deep = [deep];
    const cases: Array<[object, number, string]> = [
      [{ topic: 'chat:a', data: deep }, 400, 'INVALID_PAYLOAD'],
      [{ topic: 'chat:a', data: 1, key: 'k'.repeat(257) }, 400, 'INVALID_FRAME'],
      [{ topic: 'chat:a', data: 'x'.repeat(5000) }, 413, 'PAYLOAD_TOO_LARGE'],
      [{ topic: '', data: 1 }, 400, 'INVALID_TOPIC'],
      [{ topic: 'nochat', data: 1 }, 400, 'UNKNOWN_TOPIC'],
    ];
    for (const [body, status, code] of cases) {
      const response = await publish(app.url, body);
      assert.deepEqual([response.status, errorOf(response.body)], [status, code], JSON.stringify(body).slice(0, 60));
    }
    assert.equal((await publish(app.url, { topic: 'chat:a', data: 1, key: 'k'.repeat(256) })).status, 200);
    assert.deepEqual(errors, []);
  });

  // An answer never echoes unbounded input: a 100 KB topic name or path came back whole.
  it('echoes at most a name\'s length of an invalid topic or an unknown path', async () => {
    const topic = `chat:\n${'x'.repeat(100_000)}`;
    const invalid = await publish(app.url, { topic, data: 1 });
    assert.equal(invalid.status, 400);
    assert.ok(invalid.body.length < 1024, `${invalid.body.length} bytes answered`);
    const path = `/api/${'p'.repeat(8000)}`;
    const unknown = await http(app.url, path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    assert.equal(unknown.status, 404);
    assert.ok(unknown.body.length < 1024, `${unknown.body.length} bytes answered`);
  });

  // Guards issue 10 item 10: an HTML form (text/plain, urlencoded) from any site could publish.
  it('answers 415 UNSUPPORTED_MEDIA_TYPE unless the body is JSON', async () => {
    const body = JSON.stringify({ topic: 'chat:a', data: 1 });
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', undefined]) {
      const headers: Record<string, string> = type === undefined ? {} : { 'Content-Type': type };
      const response = await http(app.url, '/api/publish', { method: 'POST', headers, body });
      assert.deepEqual([response.status, errorOf(response.body)], [415, 'UNSUPPORTED_MEDIA_TYPE'], String(type));
    }
    for (const type of ['application/json; charset=utf-8', 'Application/JSON;charset="UTF-8"']) {
      assert.equal((await publish(app.url, body, { 'Content-Type': type })).status, 200, type);
    }
  });

  // Guards issue 10 item 10: a page on any site could publish through the user's browser.
  it('answers 403 FORBIDDEN to cross-site posts, allows same-origin and loopback pages', async () => {
    const body = { topic: 'chat:a', data: 1 };
    const refused: Array<Record<string, string>> = [{ Origin: 'https://evil.example' }, { 'Sec-Fetch-Site': 'cross-site' }, { Origin: 'null' }];
    for (const headers of refused) {
      const response = await publish(app.url, body, headers);
      assert.deepEqual([response.status, errorOf(response.body)], [403, 'FORBIDDEN'], JSON.stringify(headers));
    }
    const allowed: Array<Record<string, string>> = [{ Origin: app.url }, { Origin: 'http://localhost:5173' }, { 'Sec-Fetch-Site': 'same-origin' }, {}];
    for (const headers of allowed) {
      assert.equal((await publish(app.url, body, headers)).status, 200, JSON.stringify(headers));
    }
  });

  // Guards issue 10 item 11: a body trickling in held the request (and its socket) for 300 s.
  it('answers 408 REQUEST_TIMEOUT when the body does not arrive within bodyTimeoutMs, then closes', async () => {
    const raw = await RawHttp.send(
      app.port,
      'POST /api/publish HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"topic":',
    );
    assert.equal(await raw.statusAtClose(), 408);
    assert.match(raw.received, /"code":"REQUEST_TIMEOUT"/);
    assert.deepEqual(errors, []);
  });

  // Guards issue 10 item 2: headersTimeout applies to the standalone's HTTP server, upgrades included.
  it('answers 408 to an upgrade whose headers never end, after headersTimeout', async () => {
    const half = await RawHttp.send(app.port, upgradeRequest('/holdfast', {}, false));
    assert.equal(await half.statusAtClose(), 408);
  });

  // Guards issue 10 item 13: the static server followed symlinks out of its folder.
  it('refuses (404) a symlink to a file outside the served folder, serves one inside', async () => {
    assert.equal((await http(app.url, '/leak.txt')).status, 404);
    const inside = await http(app.url, '/alias.txt');
    assert.deepEqual([inside.status, inside.body], [200, 'inside\n']);
  });

  // Guards issue 10 item 13: the demo page had no Content-Security-Policy; JSON answers no nosniff.
  it('sends a Content-Security-Policy with the page and nosniff with everything', async () => {
    const page = await http(app.url, '/');
    assert.match(String(page.headers['content-security-policy']), /default-src 'self'.*connect-src 'self' ws: wss:/);
    const answers = [page, await http(app.url, '/inside.txt'), await http(app.url, '/config.json'), await http(app.url, '/nope'), await publish(app.url, { topic: 'chat:a', data: 1 })];
    for (const answer of answers) assert.equal(answer.headers['x-content-type-options'], 'nosniff');
    assert.equal((await http(app.url, '/inside.txt')).headers['content-security-policy'], undefined, 'only pages need it');
  });
});
