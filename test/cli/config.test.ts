import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseCommand, UsageError, type ServeCommand } from '../../src/cli/args.js';
import { configSchema, FILE_KEYS_WITH_FLAGS, FILE_ONLY_KEYS, loadConfigFile } from '../../src/cli/config.js';
import type { SchemaNode } from '../../src/cli/schema-walker.js';
import { envName, FLAG_NAMES } from '../../src/cli/settings.js';
import { ConfigError } from '../../src/cli/usage-error.js';
import { topicTable } from '../../src/cli/serve-options.js';
import type { TopicOptions } from '../../src/server/options.js';
import { MemoryStore } from '../../src/store/memory/index.js';
import { ROOT } from './helpers.js';

const EXAMPLE = readFileSync(join(ROOT, 'docs', 'holdfast.example.json'), 'utf8');

/** parseCommand with the config file `holdfast.json` holding `config`. */
function serveWith(config: unknown, argv: string[] = [], env: Record<string, string> = {}): ServeCommand {
  const text = typeof config === 'string' ? config : JSON.stringify(config);
  const command = parseCommand(['serve', '--config', 'holdfast.json', ...argv], env, (path) => {
    assert.equal(path, 'holdfast.json');
    return text;
  });
  assert.equal(command.kind, 'serve');
  return command as ServeCommand;
}

/** Every key path the schema describes: `store.url`, `topics[].mode`… */
function schemaKeys(node: SchemaNode, root: SchemaNode, prefix = ''): string[] {
  if (node.$ref !== undefined) return schemaKeys(root.$defs![node.$ref.split('/').at(-1)!]!, root, prefix);
  if (node.items !== undefined) return schemaKeys(node.items, root, `${prefix}[]`);
  if (node.properties === undefined) return [prefix];
  return Object.entries(node.properties).flatMap(([key, child]) => schemaKeys(child, root, prefix === '' ? key : `${prefix}.${key}`));
}

describe('config file', () => {
  it('the schema and the config reader know the same keys', () => {
    const schema = configSchema();
    const known = [...Object.keys(FILE_KEYS_WITH_FLAGS), ...FILE_ONLY_KEYS].sort();
    // Arrays of strings (allowedOrigins, anonymous.publish) end in `[]` in the schema's walk.
    assert.deepEqual(schemaKeys(schema, schema).map((key) => key.replace(/\[\]$/, '')).sort(), known);
  });

  it('every flag has a config key (the store flags through store.kind) and an env var', () => {
    const mapped = new Set(Object.values(FILE_KEYS_WITH_FLAGS).map(({ flag }) => flag));
    assert.deepEqual(FLAG_NAMES.filter((flag) => !mapped.has(flag)), ['memory']);
    assert.equal(envName('max-connections-per-address'), 'HOLDFAST_MAX_CONNECTIONS_PER_ADDRESS');
  });

  it('the documented example passes the schema and becomes a command', () => {
    const command = serveWith(EXAMPLE);
    assert.equal(command.port, 8080);
    assert.equal(command.host, '0.0.0.0');
    assert.equal(command.prices, false);
    assert.deepEqual(command.store, { kind: 'sqlite', dataFolder: '/var/lib/holdfast', synchronous: 'full', maxSizeBytes: 2 * 1024 ** 3 });
    assert.deepEqual(command.allowedOrigins, ['https://app.example']);
    assert.deepEqual(command.allowedHosts, ['app.example', '.example.com']);
    assert.equal(command.trustedProxies, 1);
    assert.equal(command.maxConnectionsPerAddress, 64);
    assert.equal(command.heartbeatInterval, 25000);
    assert.equal(command.fileOnly?.sessionTtl, 120000);
    assert.deepEqual(command.fileOnly?.limits?.messageRate, { perSecond: 100, burst: 200 });
    assert.equal(command.fileOnly?.limits && 'maxConnectionsPerAddress' in command.fileOnly.limits, false);
    assert.deepEqual(command.fileOnly?.topics?.[2], { pattern: 'presence:*', mode: 'latest', maxKeys: 5000 });
    assert.deepEqual(command.fileOnly?.anonymous?.publish, ['chat:*', 'typing:*']);
  });

  it('without settings of its own a file changes nothing', () => {
    assert.deepEqual(serveWith({}), parseCommand(['serve']));
  });

  it('flags win over env, env over the file, the file over the defaults', () => {
    const file = { port: 1111, path: '/file', host: '10.0.0.1' };
    const env = { HOLDFAST_PORT: '2222', HOLDFAST_PATH: '/env' };
    const command = serveWith(file, ['--port', '3333'], env);
    assert.equal(command.port, 3333);
    assert.equal(command.path, '/env');
    assert.equal(command.host, '10.0.0.1');
    assert.equal(command.trustedProxies, 0);
  });

  it('HOLDFAST_CONFIG names the file when --config does not', () => {
    const command = parseCommand(['serve'], { HOLDFAST_CONFIG: 'from-env.json' }, (path) => (path === 'from-env.json' ? '{"port": 4444}' : '{}'));
    assert.equal((command as ServeCommand).port, 4444);
  });

  it('a layer that chooses a store replaces the store of the layers below', () => {
    const redis = { store: { kind: 'redis', url: 'redis://127.0.0.1:6379', prefix: 'app' } };
    assert.deepEqual(serveWith(redis).store, { kind: 'redis', url: 'redis://127.0.0.1:6379', keyPrefix: 'app' });
    assert.deepEqual(serveWith(redis, ['--memory']).store, { kind: 'memory' });
    assert.deepEqual(serveWith(redis, [], { HOLDFAST_DATA: '/tmp/x' }).store, { kind: 'sqlite', dataFolder: '/tmp/x', synchronous: 'normal', maxSizeBytes: undefined });
    // A setting of the same store does not replace it.
    assert.deepEqual(serveWith({ store: { kind: 'sqlite', folder: '/srv' } }, [], { HOLDFAST_SYNCHRONOUS: 'full' }).store, {
      kind: 'sqlite',
      dataFolder: '/srv',
      synchronous: 'full',
      maxSizeBytes: undefined,
    });
    assert.deepEqual(serveWith({ store: { kind: 'memory' } }, [], { HOLDFAST_MEMORY: '0' }).store.kind, 'sqlite');
  });

  it('every flag has a HOLDFAST_ variable', () => {
    const env = {
      HOLDFAST_PORT: '0',
      HOLDFAST_HOST: '::1',
      HOLDFAST_PATH: '/ws',
      HOLDFAST_API_KEY: 'k',
      HOLDFAST_METRICS_KEY: 'm',
      HOLDFAST_NO_PRICES: 'true',
      HOLDFAST_ALLOW_ORIGIN: 'https://a.example, https://b.example',
      HOLDFAST_ALLOW_HOST: 'a.example',
      HOLDFAST_TRUSTED_PROXIES: '2',
      HOLDFAST_MAX_CONNECTIONS_PER_ADDRESS: '0',
      HOLDFAST_HEARTBEAT_INTERVAL: '1000',
      HOLDFAST_HEARTBEAT_TIMEOUT: '2000',
      HOLDFAST_REDIS: 'redis://r:6379',
      HOLDFAST_REDIS_PREFIX: 'p',
      HOLDFAST_REDIS_WAIT_REPLICAS: '1',
      HOLDFAST_REDIS_WAIT_TIMEOUT: '500',
    };
    assert.deepEqual(parseCommand(['serve'], env), {
      kind: 'serve',
      port: 0,
      host: '::1',
      path: '/ws',
      apiKey: 'k',
      metricsKey: 'm',
      prices: false,
      store: { kind: 'redis', url: 'redis://r:6379', keyPrefix: 'p', waitForReplicas: { replicas: 1, timeoutMs: 500 } },
      allowedOrigins: ['https://a.example', 'https://b.example'],
      allowedHosts: ['a.example'],
      trustedProxies: 2,
      maxConnectionsPerAddress: Infinity,
      heartbeatInterval: 1000,
      heartbeatTimeout: 2000,
    });
    const sqlite = parseCommand(['serve'], { HOLDFAST_DATA: 'd', HOLDFAST_SYNCHRONOUS: 'full', HOLDFAST_MAX_DB_SIZE: '1m' }) as ServeCommand;
    assert.deepEqual(sqlite.store, { kind: 'sqlite', dataFolder: 'd', synchronous: 'full', maxSizeBytes: 1024 ** 2 });
    assert.deepEqual((parseCommand(['serve'], { HOLDFAST_MEMORY: '1' }) as ServeCommand).store, { kind: 'memory' });
  });

  it('a bad environment value names its variable', () => {
    assert.throws(() => parseCommand(['serve'], { HOLDFAST_PORT: 'eighty' }), { name: 'UsageError', message: /^HOLDFAST_PORT must be a number/ });
    assert.throws(() => parseCommand(['serve'], { HOLDFAST_MEMORY: 'yes' }), { message: /^HOLDFAST_MEMORY must be 1, true, 0 or false/ });
  });

  const mistakes: Array<[string, unknown, string]> = [
    ['an unknown key', { prot: 80 }, 'holdfast.json: prot is not a known key (known: $schema, port,'],
    ['an unknown nested key', { store: { kind: 'memory', size: 1 } }, 'holdfast.json: store.size is not a known key'],
    ['a wrong type', { port: '80' }, 'holdfast.json: port must be a whole number, got "80"'],
    ['a fraction', { trustedProxies: 1.5 }, 'holdfast.json: trustedProxies must be a whole number, got 1.5'],
    ['a number out of range', { port: 70000 }, 'holdfast.json: port must be at most 65535, got 70000'],
    ['a bad topic mode', { topics: [{ pattern: 'a' }, { pattern: 'b', mode: 'fast' }] }, 'holdfast.json: topics[1].mode must be "reliable", "volatile" or "latest", got "fast"'],
    ['a topic without a pattern', { topics: [{ mode: 'latest' }] }, 'holdfast.json: topics[0].pattern is required'],
    ['a star inside a pattern', { topics: [{ pattern: 'a*b' }] }, "holdfast.json: topics[0].pattern may hold '*' only at its end"],
    ['a pattern twice', { topics: [{ pattern: 'a' }, { pattern: 'a' }] }, 'holdfast.json: topics[1].pattern "a" appears twice'],
    ['a list that is not', { allowedOrigins: 'https://a.example' }, 'holdfast.json: allowedOrigins must be an array'],
    ['a bad origin', { allowedOrigins: ['a.example'] }, 'holdfast.json: allowedOrigins must be an origin'],
    ['a bad path', { path: 'ws' }, "holdfast.json: path must start with '/'"],
    ['redis without a url', { store: { kind: 'redis' } }, 'holdfast.json: store.url is required when store.kind is "redis"'],
    ['a setting of another store', { store: { kind: 'memory', folder: 'x' } }, 'holdfast.json: store.folder applies to the SQLite store, not "memory"'],
    ['a bad size', { store: { kind: 'sqlite', maxSize: 'huge' } }, 'holdfast.json: store.maxSize must be a size'],
    ['not an object', [], 'holdfast.json: the configuration must be an object, got []'],
    ['not JSON', '{"port": 80,}', 'holdfast.json: not valid JSON'],
  ];
  for (const [what, config, message] of mistakes) {
    it(`refuses ${what} with one line naming the key`, () => {
      assert.throws(
        () => serveWith(config),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError, String(error));
          assert.ok(error.message.startsWith(message), `${error.message}\n  should start with\n${message}`);
          assert.ok(!error.message.includes('\n'), error.message);
          return true;
        },
      );
    });
  }

  it('a missing file is a usage error naming it', () => {
    assert.throws(() => loadConfigFile('/nonexistent/holdfast.json'), { name: 'ConfigError', message: 'cannot read the config file /nonexistent/holdfast.json: no such file' });
    assert.ok(new ConfigError('x') instanceof UsageError);
  });
});

describe('docs/server.md', () => {
  it('shows the example config as it is in docs/holdfast.example.json', () => {
    const docs = readFileSync(join(ROOT, 'docs', 'server.md'), 'utf8');
    assert.ok(docs.includes('```json\n' + EXAMPLE + '```'), 'the Configuration section should hold the example verbatim');
  });
});

describe('topics from the config file', () => {
  it('snapshot "latest" hands a subscriber that lost its position the newest message; "none" no snapshot', async () => {
    const command = serveWith({ topics: [{ pattern: 'doc:*', snapshot: 'latest' }, { pattern: 'log:*', snapshot: 'none', mode: 'reliable' }] });
    const store = new MemoryStore();
    try {
      const table = topicTable(command.fileOnly!, command.prices, store) as Record<string, TopicOptions>;
      assert.equal(table['log:*']!.snapshot, undefined);
      const snapshot = table['doc:*']!.snapshot!;
      const context = { identity: null, session: 's' };
      assert.equal(await snapshot('doc:1', context), undefined, 'nothing retained, nothing to show');
      await store.append([1, 2, 3].map((version) => ({ topic: 'doc:1', data: { version }, time: Date.now() })));
      assert.deepEqual(await snapshot('doc:1', context), { version: 3 });
      // The price feed's topic is kept while the feed runs, and only then.
      assert.deepEqual(Object.keys(table), ['doc:*', 'log:*', 'prices']);
      assert.deepEqual(Object.keys(topicTable({ topics: [{ pattern: 'p*' }] }, true, store)), ['p*']);
      assert.deepEqual(Object.keys(topicTable({ topics: [] }, false, store)), []);
    } finally {
      await store.close();
    }
  });

  it('refuses another snapshot', () => {
    assert.throws(() => serveWith({ topics: [{ pattern: 'a', snapshot: 'all' }] }), { message: 'holdfast.json: topics[0].snapshot must be "latest" or "none", got "all"' });
  });
});
