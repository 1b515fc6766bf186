import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCommand, UsageError, type Command } from '../../src/cli/args.js';
import { safeSegments } from '../../src/cli/static.js';

describe('parseCommand', () => {
  it('serve with defaults', () => {
    assert.deepEqual(parseCommand(['serve']), {
      kind: 'serve',
      port: 8080,
      host: '127.0.0.1',
      path: '/holdfast',
      apiKey: undefined,
      metricsKey: undefined,
      prices: true,
      store: { kind: 'sqlite', dataFolder: './data', synchronous: 'normal', maxSizeBytes: undefined },
      allowedOrigins: [],
      allowedHosts: undefined,
      trustedProxies: 0,
      maxConnectionsPerAddress: 64,
      heartbeatInterval: undefined,
      heartbeatTimeout: undefined,
    });
  });

  it('serve with every option', () => {
    assert.deepEqual(parseCommand(['serve', '--port', '0', '--host', '0.0.0.0', '--path', '/ws', '--api-key', 'k', '--metrics-key', 'm', '--no-prices']), {
      kind: 'serve',
      port: 0,
      host: '0.0.0.0',
      path: '/ws',
      apiKey: 'k',
      metricsKey: 'm',
      prices: false,
      store: { kind: 'sqlite', dataFolder: './data', synchronous: 'normal', maxSizeBytes: undefined },
      allowedOrigins: [],
      allowedHosts: undefined,
      trustedProxies: 0,
      maxConnectionsPerAddress: 64,
      heartbeatInterval: undefined,
      heartbeatTimeout: undefined,
    });
    assert.equal((parseCommand(['serve', '-p', '9000']) as { port: number }).port, 9000);
    assert.equal((parseCommand(['serve', '--port=9001']) as { port: number }).port, 9001);
  });

  it('chooses the store: SQLite in ./data by default, --data, --synchronous, --max-db-size, or --memory', () => {
    const store = (argv: string[]) => (parseCommand(['serve', ...argv]) as Extract<Command, { kind: 'serve' }>).store;
    assert.deepEqual(store(['--data', '/var/lib/holdfast']), { kind: 'sqlite', dataFolder: '/var/lib/holdfast', synchronous: 'normal', maxSizeBytes: undefined });
    assert.deepEqual(store(['--synchronous', 'full', '--max-db-size', '500m']), {
      kind: 'sqlite',
      dataFolder: './data',
      synchronous: 'full',
      maxSizeBytes: 500 * 1024 * 1024,
    });
    assert.deepEqual(store(['--memory']), { kind: 'memory' });
    const sizes: Array<[string, number]> = [
      ['65536', 65536],
      ['200k', 200 * 1024],
      ['200KiB', 200 * 1024],
      ['64kb', 64 * 1024],
      ['2g', 2 * 1024 ** 3],
      ['70000b', 70000],
    ];
    for (const [text, bytes] of sizes) assert.equal((store(['--max-db-size', text]) as { maxSizeBytes: number }).maxSizeBytes, bytes, text);
  });

  it('reads the Redis store: --redis, --redis-prefix, and --redis-wait-replicas with its timeout', () => {
    const store = (argv: string[]) => (parseCommand(['serve', ...argv]) as Extract<Command, { kind: 'serve' }>).store;
    const url = 'redis://127.0.0.1:6379';
    assert.deepEqual(store(['--redis', url]), { kind: 'redis', url, keyPrefix: undefined });
    assert.deepEqual(store(['--redis', url, '--redis-prefix', 'p', '--redis-wait-replicas', '2']), {
      kind: 'redis',
      url,
      keyPrefix: 'p',
      waitForReplicas: { replicas: 2, timeoutMs: 1000 },
    });
    assert.deepEqual((store(['--redis', url, '--redis-wait-replicas', '1', '--redis-wait-timeout', '250']) as { waitForReplicas: unknown }).waitForReplicas, {
      replicas: 1,
      timeoutMs: 250,
    });
    const refused: Array<[string[], RegExp]> = [
      [['--redis-wait-replicas', '1'], /--redis-wait-replicas applies to the Redis store: give --redis too/],
      [['--redis', url, '--redis-wait-replicas', '0'], /--redis-wait-replicas must be a whole number of at least 1: '0'/],
      [['--redis', url, '--redis-wait-replicas', '1.5'], /whole number/],
      [['--redis', url, '--redis-wait-timeout', '100'], /--redis-wait-timeout needs --redis-wait-replicas/],
      [['--redis', url, '--redis-wait-replicas', '1', '--redis-wait-timeout', '5000'], /from 1 to 4999: '5000'/],
    ];
    for (const [argv, message] of refused) assert.throws(() => store(argv), (error: unknown) => error instanceof UsageError && message.test(error.message), argv.join(' '));
  });

  it('collects --allow-origin (repeatable) and reads --max-connections-per-address (0: no limit)', () => {
    const serve = (argv: string[]) => parseCommand(['serve', ...argv]) as Extract<Command, { kind: 'serve' }>;
    assert.deepEqual(serve(['--allow-origin', 'https://app.example', '--allow-origin=http://host:*']).allowedOrigins, ['https://app.example', 'http://host:*']);
    assert.deepEqual(serve(['--allow-origin', '*']).allowedOrigins, ['*']);
    assert.deepEqual(serve(['--allow-host', 'app.example', '--allow-host', '.example.com']).allowedHosts, ['app.example', '.example.com']);
    assert.equal(serve(['--allow-host', '*']).allowedHosts, null);
    assert.equal(serve(['--trusted-proxies', '2']).trustedProxies, 2);
    assert.throws(() => serve(['--trusted-proxies', 'all']), /--trusted-proxies must be a number/);
    assert.throws(() => serve(['--allow-host', 'http://app.example']), /--allow-host must be a host name/);
    assert.equal(serve(['--max-connections-per-address', '10']).maxConnectionsPerAddress, 10);
    assert.equal(serve(['--max-connections-per-address', '0']).maxConnectionsPerAddress, Infinity);
  });

  it('reads --heartbeat-interval and --heartbeat-timeout in ms, each on its own', () => {
    const serve = (argv: string[]) => parseCommand(['serve', ...argv]) as Extract<Command, { kind: 'serve' }>;
    const both = serve(['--heartbeat-interval', '1000', '--heartbeat-timeout=3000']);
    assert.deepEqual([both.heartbeatInterval, both.heartbeatTimeout], [1000, 3000]);
    const one = serve(['--heartbeat-interval', '500']);
    assert.deepEqual([one.heartbeatInterval, one.heartbeatTimeout], [500, undefined]);
    for (const bad of ['0', '99', '1.5', '-1', '1s', '3600001']) {
      assert.throws(() => serve([`--heartbeat-interval=${bad}`]), /--heartbeat-interval must be a whole number of ms/, bad);
      assert.throws(() => serve([`--heartbeat-timeout=${bad}`]), /--heartbeat-timeout must be a whole number of ms/, bad);
    }
  });

  it('takes the API key from HOLDFAST_API_KEY unless --api-key is given', () => {
    assert.equal((parseCommand(['serve'], { HOLDFAST_API_KEY: 'env' }) as { apiKey: string }).apiKey, 'env');
    assert.equal((parseCommand(['serve', '--api-key', 'flag'], { HOLDFAST_API_KEY: 'env' }) as { apiKey: string }).apiKey, 'flag');
  });

  it('help and version win over everything else', () => {
    assert.deepEqual(parseCommand(['--help']), { kind: 'help' });
    assert.deepEqual(parseCommand(['serve', '-h']), { kind: 'help' });
    assert.deepEqual(parseCommand(['--version']), { kind: 'version' });
    assert.deepEqual(parseCommand(['-v']), { kind: 'version' });
  });

  const mistakes: Array<[string[], RegExp]> = [
    [[], /no command/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['serve', 'extra'], /unexpected argument 'extra'/],
    [['serve', '--bogus'], /Unknown option '--bogus'/],
    [['serve', '-x'], /Unknown option '-x'/],
    [['serve', '--port'], /argument missing/],
    [['serve', '--port', 'abc'], /--port must be a number/],
    [['serve', '--port', '70000'], /--port must be a number/],
    [['serve', '--port', '-1'], /.+/],
    [['serve', '--path', 'ws'], /--path must start with/],
    [['serve', '--api-key', ''], /--api-key must not be empty/],
    [['serve', '--no-prices=yes'], /.+/],
    [['serve', '--memory', '--data', 'x'], /--data .*cannot be combined with --memory/],
    [['serve', '--memory', '--synchronous', 'full'], /--synchronous .*cannot be combined with --memory/],
    [['serve', '--memory', '--max-db-size', '1m'], /--max-db-size .*cannot be combined with --memory/],
    [['serve', '--data', ''], /--data must not be empty/],
    [['serve', '--data'], /argument missing/],
    [['serve', '--synchronous', 'off'], /--synchronous must be 'normal' or 'full'/],
    [['serve', '--max-db-size', 'lots'], /--max-db-size must be a size/],
    [['serve', '--max-db-size', '1k'], /at least 64k/],
    [['serve', '--max-db-size', '10ib'], /--max-db-size must be a size/],
    [['serve', '--allow-origin', 'app.example'], /--allow-origin must be an origin/],
    [['serve', '--allow-origin', 'https://app.example/'], /--allow-origin must be an origin/],
    [['serve', '--allow-origin', 'https://app.example/path'], /--allow-origin must be an origin/],
    [['serve', '--allow-origin', 'ftp://app.example'], /--allow-origin must be an origin/],
    [['serve', '--allow-origin'], /argument missing/],
    [['serve', '--max-connections-per-address', '-1'], /.+/],
    [['serve', '--max-connections-per-address', 'many'], /--max-connections-per-address must be a whole number/],
    [['serve', '--max-connections-per-address', '1.5'], /--max-connections-per-address must be a whole number/],
  ];
  for (const [argv, message] of mistakes) {
    it(`refuses ${JSON.stringify(argv)}`, () => {
      assert.throws(() => parseCommand(argv), (error: unknown) => error instanceof UsageError && message.test(error.message));
    });
  }
});

describe('safeSegments', () => {
  it('splits and decodes a path', () => {
    assert.deepEqual(safeSegments('a/b%20c/d.js'), ['a', 'b c', 'd.js']);
    assert.deepEqual(safeSegments('//a//b'), ['a', 'b']);
    assert.deepEqual(safeSegments(''), []);
  });

  it('refuses dot segments and smuggled separators in every spelling', () => {
    for (const path of ['..', 'a/../b', '%2e%2e', '.%2E', '..%2fetc', '..%2F', '..%5c', 'a%5cb', '%00', 'a%00.js', '.', '%', '%zz']) {
      assert.equal(safeSegments(path), null, path);
    }
  });
});
