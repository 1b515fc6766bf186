import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as {
  exports: Record<string, string | { types: string; import: string }>;
  bin: Record<string, string>;
};

/** What each public entry point must offer; loaded by the package's own name, as users will. */
const expected: Record<string, string[]> = {
  holdfast: ['HoldfastError', 'ErrorCode', 'CloseCode', 'encodeFrame', 'decodeClientFrame', 'decodeServerFrame', 'PROTOCOL_VERSION', 'PROTOCOL_DEFAULTS'],
  'holdfast/client': ['HoldfastClient', 'Subscription', 'HoldfastError', 'DEFAULTS', 'indexedDbOutbox', 'connectionStatus'],
  // The one-file browser bundle offers the same API (it imports nothing, so Node can load it too).
  'holdfast/browser': ['HoldfastClient', 'Subscription', 'HoldfastError', 'DEFAULTS', 'indexedDbOutbox', 'connectionStatus'],
  'holdfast/server': ['HoldfastServer', 'Hub', 'MemoryStore', 'DEFAULTS'],
  'holdfast/server/core': ['Hub', 'DEFAULTS', 'DEFAULT_LIMITS'],
  'holdfast/server/ws': ['HoldfastServer', 'LOOPBACK_ORIGINS'],
  'holdfast/store/memory': ['MemoryStore'],
  'holdfast/store/sqlite': ['SqliteStore', 'openDataFolder', 'SCHEMA_VERSION'],
  'holdfast/store/redis': ['RedisStore', 'KeyLayout'],
};

describe('package exports (built dist)', () => {
  it('has a types and an import file for every subpath', () => {
    for (const [subpath, target] of Object.entries(pkg.exports)) {
      if (typeof target === 'string') continue;
      for (const file of [target.types, target.import]) assert.ok(existsSync(`${root}${file}`), `${subpath}: ${file} missing (run npm run build)`);
    }
  });

  for (const [specifier, names] of Object.entries(expected)) {
    it(`${specifier} loads and exports ${names.join(', ')}`, async () => {
      const module = (await import(specifier)) as Record<string, unknown>;
      for (const name of names) assert.notEqual(module[name], undefined, `${specifier} lacks ${name}`);
    });
  }

  it('lists every subpath it tests, and tests every subpath it lists', () => {
    // The JSON files (package.json, the config schema) are data, tested below, not modules.
    const listed = Object.keys(pkg.exports).filter((k) => !k.endsWith('.json')).map((k) => (k === '.' ? 'holdfast' : `holdfast/${k.slice(2)}`));
    assert.deepEqual(listed.sort(), Object.keys(expected).sort());
  });

  it('holdfast/config-schema.json resolves to the JSON Schema of the config file, which is published', () => {
    const file = fileURLToPath(import.meta.resolve('holdfast/config-schema.json'));
    const schema = JSON.parse(readFileSync(file, 'utf8')) as { $schema?: string; properties?: Record<string, unknown> };
    assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
    assert.ok(schema.properties?.topics !== undefined);
    assert.ok((pkg as unknown as { files: string[] }).files.includes('holdfast.schema.json'));
  });

  it('the SQLite store finds its checkpoint thread in dist', async () => {
    const { SqliteStore } = await import('holdfast/store/sqlite');
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(`${tmpdir()}/holdfast-dist-`);
    const errors: unknown[] = [];
    const store = new SqliteStore({ file: `${dir}/holdfast.db`, onError: (error) => errors.push(error) });
    try {
      const started = (store as unknown as { checkpointer: { started: Promise<string> } }).checkpointer.started;
      assert.equal(await started, 'thread', String(errors[0]));
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('holdfast/server/core loads neither ws nor a store implementation', () => {
    // Walks the built module graph from the entry file: every static import, relative or bare.
    const seen = new Set<string>();
    const bare = new Set<string>();
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(file, 'utf8');
      for (const [, specifier] of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*['"]([^'"]+)['"]/g)) {
        if (specifier!.startsWith('.')) visit(fileURLToPath(new URL(specifier!, `file://${file}`)));
        else bare.add(specifier!);
      }
    };
    visit(`${root}dist/server/core.js`);
    assert.ok(seen.size > 10, `the walk found only ${seen.size} modules`);
    assert.deepEqual([...bare].filter((name) => !name.startsWith('node:')), [], 'bare imports of the core');
    const stores = [...seen].filter((file) => /\/store\/(memory|sqlite)\//.test(file));
    assert.deepEqual(stores, [], 'store implementations in the core');
  });

  it('has an executable bin with a node shebang', () => {
    const bin = `${root}${pkg.bin.holdfast}`;
    assert.ok(existsSync(bin));
    assert.match(readFileSync(bin, 'utf8'), /^#!\/usr\/bin\/env node/);
  });
});
