import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCommand, UsageError } from '../../src/cli/args.js';
import { safeSegments } from '../../src/cli/static.js';

describe('parseCommand', () => {
  it('serve with defaults', () => {
    assert.deepEqual(parseCommand(['serve']), {
      kind: 'serve',
      port: 8080,
      host: '127.0.0.1',
      path: '/holdfast',
      apiKey: undefined,
      prices: true,
    });
  });

  it('serve with every option', () => {
    assert.deepEqual(parseCommand(['serve', '--port', '0', '--host', '0.0.0.0', '--path', '/ws', '--api-key', 'k', '--no-prices']), {
      kind: 'serve',
      port: 0,
      host: '0.0.0.0',
      path: '/ws',
      apiKey: 'k',
      prices: false,
    });
    assert.equal((parseCommand(['serve', '-p', '9000']) as { port: number }).port, 9000);
    assert.equal((parseCommand(['serve', '--port=9001']) as { port: number }).port, 9001);
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
