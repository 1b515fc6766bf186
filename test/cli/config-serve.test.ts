import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { HoldfastClient, isHoldfastError } from '../../src/client/index.js';
import { cli, finished, listening } from './helpers.js';

/** Writes `config` as holdfast.json in a fresh folder and returns its path. */
async function configFile(config: unknown): Promise<string> {
  const file = join(await mkdtemp(join(tmpdir(), 'holdfast-config-')), 'holdfast.json');
  await writeFile(file, typeof config === 'string' ? config : JSON.stringify(config));
  return file;
}

describe('holdfast serve --config', () => {
  it('honours the file: path, store, topics and anonymous permissions (a forbidden publish is FORBIDDEN)', async () => {
    const file = await configFile({
      port: 0,
      path: '/rt',
      prices: false,
      store: { kind: 'memory' },
      topics: [{ pattern: 'chat:*', mode: 'reliable' }, { pattern: 'news', mode: 'reliable' }],
      anonymous: { subscribe: ['chat:*', 'news'], publish: ['chat:*'] },
    });
    const child = cli(['serve', '--config', file]);
    const output = finished(child);
    let client: HoldfastClient | undefined;
    try {
      const { wsUrl, store } = await listening(child);
      assert.match(wsUrl, /^ws:\/\/127\.0\.0\.1:\d+\/rt$/);
      assert.match(store, /^memory/);
      client = new HoldfastClient({ url: wsUrl, WebSocket });
      const received: unknown[] = [];
      const chat = client.subscribe('chat:lobby', (data) => received.push(data));
      await new Promise<void>((resolve) => chat.on('subscribed', () => resolve()));
      await client.publish('chat:lobby', { text: 'hi' });
      await waitFor(() => received.length === 1);
      assert.deepEqual(received, [{ text: 'hi' }]);
      // Subscribing is allowed on news, publishing is not.
      await assert.rejects(client.publish('news', { text: 'fake' }), (error: unknown) => isHoldfastError(error) && error.code === 'FORBIDDEN');
      // The file's topics replace the demo's: typing:* is no topic here.
      await assert.rejects(client.publish('typing:lobby', {}), (error: unknown) => isHoldfastError(error) && error.code === 'UNKNOWN_TOPIC');
    } finally {
      client?.close();
      child.kill('SIGTERM');
    }
    const { stdout } = await output;
    assert.match(stdout, /anonymous clients: subscribe chat:\*, news; publish chat:\*/);
  });

  it('an env var wins over the file, a flag over the env var', async () => {
    const file = await configFile({ port: 0, path: '/from-file', host: '127.0.0.1', store: { kind: 'memory' }, prices: false });
    for (const [args, env, expected] of [
      [[], {}, '/from-file'],
      [[], { HOLDFAST_PATH: '/from-env' }, '/from-env'],
      [['--path', '/from-flag'], { HOLDFAST_PATH: '/from-env' }, '/from-flag'],
    ] as Array<[string[], Record<string, string>, string]>) {
      const child = cli(['serve', '--config', file, ...args], { env: { HOLDFAST_CONFIG: '', ...env } });
      const output = finished(child);
      try {
        const { wsUrl } = await listening(child);
        assert.equal(new URL(wsUrl).pathname, expected);
      } finally {
        child.kill('SIGTERM');
      }
      await output;
    }
  });

  const mistakes: Array<[string, unknown, string]> = [
    ['an unknown key', { prot: 80 }, 'prot is not a known key'],
    ['a wrong type', { port: '80' }, 'port must be a whole number, got "80"'],
    ['a bad value', { topics: [{ pattern: 'a' }, { pattern: 'b', mode: 'fast' }] }, 'topics[1].mode must be "reliable", "volatile" or "latest", got "fast"'],
    ['a value the flag refuses', { allowedHosts: ['not a host'] }, 'allowedHosts must be a host name'],
    ['broken JSON', '{ "port": ', 'not valid JSON'],
  ];
  for (const [what, config, message] of mistakes) {
    it(`exits 2 with one line for ${what}`, async () => {
      const file = await configFile(config);
      const { code, stdout, stderr } = await finished(cli(['serve', '--config', file]));
      assert.equal(code, 2);
      assert.equal(stdout, '');
      assert.ok(stderr.startsWith(`holdfast: ${file}: ${message}`), stderr);
      assert.equal(stderr.trimEnd().split('\n').length, 1, stderr);
    });
  }

  it('exits 2 naming a missing file', async () => {
    const { code, stderr } = await finished(cli(['serve', '--config', '/nonexistent/holdfast.json']));
    assert.equal(code, 2);
    assert.equal(stderr.trim(), 'holdfast: cannot read the config file /nonexistent/holdfast.json: no such file');
  });
});

async function waitFor(condition: () => boolean, timeout = 5000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
