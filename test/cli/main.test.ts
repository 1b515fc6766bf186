import assert from 'node:assert/strict';
import { RawPeer } from '../support/raw-peer.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cli, finished, http, listening, ROOT } from './helpers.js';

describe('holdfast CLI', () => {
  it('serve --port 0 prints the real port, serves the demo and the WebSocket, and exits 0 on SIGTERM', async () => {
    const child = cli(['serve', '--port', '0', '--api-key', 'k', '--memory', '--heartbeat-interval', '1500', '--heartbeat-timeout', '4000']);
    const done = finished(child);
    try {
      const { url, wsUrl } = await listening(child);
      const port = Number(new URL(url).port);
      assert.ok(port > 0, url);
      assert.equal(wsUrl, `ws://127.0.0.1:${port}/holdfast`);

      const page = await http(url, '/');
      assert.equal(page.status, 200);
      assert.match(page.body, /<title>Holdfast demo<\/title>/);

      const denied = await http(url, '/api/publish', { method: 'POST', body: '{}' });
      assert.equal(denied.status, 401);

      const { peer: client, welcome } = await RawPeer.handshake(wsUrl);
      assert.equal(welcome.v, 1);
      // The heartbeat flags reach the server: clients learn its times from the welcome.
      assert.deepEqual(welcome.heartbeat, { interval: 1500, timeout: 4000 });
      child.kill('SIGTERM');
      assert.equal((await client.closedWith(5000)).code, 1001);
      const { code, stdout } = await done;
      assert.equal(code, 0);
      assert.match(stdout, /SIGTERM received/);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('--help prints usage and exits 0', async () => {
    const { code, stdout } = await finished(cli(['--help']));
    assert.equal(code, 0);
    assert.match(stdout, /Usage: holdfast <command>/);
    assert.match(stdout, /--api-key/);
  });

  it('--version prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const args of [['--version'], ['-v'], ['serve', '--version'], ['serve', '--port', '0', '-v']]) {
      const { code, stdout } = await finished(cli(args));
      assert.equal(code, 0, args.join(' '));
      assert.equal(stdout.trim(), version, args.join(' '));
    }
  });

  it('exits 2 with a clear message for an unknown flag or command', async () => {
    const flag = await finished(cli(['serve', '--prot', '80']));
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /Unknown option '--prot'/);
    assert.match(flag.stderr, /holdfast --help/);
    const command = await finished(cli(['start']));
    assert.equal(command.code, 2);
    assert.match(command.stderr, /unknown command 'start'/);
  });
});
