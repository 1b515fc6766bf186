// Bundles `holdfast/client` into one ES module for browsers: dist/browser/holdfast-client.js (and a
// minified copy), each with a source map. `npm run build` runs it after tsc; the standalone server
// serves the folder at /lib/browser/, and the demo page imports the bundle from there.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** Writes holdfast-client.js and holdfast-client.min.js into `outdir`. */
export async function bundleClient(outdir = join(ROOT, 'dist', 'browser')) {
  const common = {
    absWorkingDir: ROOT,
    entryPoints: ['src/client/index.ts'],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    // Every browser with ES modules and optional chaining; nothing newer is needed.
    target: 'es2020',
    sourcemap: true,
    legalComments: 'none',
    logLevel: 'warning',
  };
  await Promise.all([
    build({ ...common, outfile: join(outdir, 'holdfast-client.js') }),
    build({ ...common, outfile: join(outdir, 'holdfast-client.min.js'), minify: true }),
  ]);
  return outdir;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bundleClient();
