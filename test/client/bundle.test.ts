import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('holdfast/client bundle', () => {
  it('bundles for the browser without Node built-ins', async () => {
    const result = await build({
      absWorkingDir: root,
      entryPoints: ['src/client/index.ts'],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      logLevel: 'silent',
    });
    assert.deepEqual(result.errors, []);
    assert.equal(result.outputFiles.length, 1);
    const code = result.outputFiles[0]!.text;
    assert.ok(code.includes('HoldfastClient'));
    assert.doesNotMatch(code, /\brequire\(/);
    assert.doesNotMatch(code, /["']node:/);
    assert.doesNotMatch(code, /^\s*import[\s{*"']/m, 'no imports left: zero runtime dependencies');
    assert.doesNotMatch(code, /\bimport\(/, 'no dynamic imports either');
  });

  it('the check has teeth: a Node built-in fails a browser bundle', async () => {
    await assert.rejects(
      build({
        absWorkingDir: root,
        stdin: { contents: "import { EventEmitter } from 'node:events'; export const e = new EventEmitter();", resolveDir: root, loader: 'ts' },
        bundle: true,
        platform: 'browser',
        format: 'esm',
        write: false,
        logLevel: 'silent',
      }),
    );
  });
});
