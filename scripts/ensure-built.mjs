// `npm start` runs this before the server: it builds only when dist/ is missing or older than what
// it is built from, so a start after `npm install` (whose `prepare` builds) takes no build at all.
// A build takes several seconds; this check reads a few hundred mtimes, in milliseconds.
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** What the build reads: a change to any of them makes dist/ stale. */
const INPUTS = ['src', 'package.json', 'tsconfig.json', 'tsconfig.build.json', 'scripts/bundle-client.mjs'];

/** What the build writes last of each step (tsc, then the bundle): the oldest of them dates dist/. */
const OUTPUTS = ['dist/cli/main.js', 'dist/browser/holdfast-client.js'];

/** The newest modification time under `path` (a file or a folder), or 0 when it does not exist. */
function newest(path) {
  let stats;
  try {
    stats = statSync(path);
  } catch {
    return 0;
  }
  if (!stats.isDirectory()) return stats.mtimeMs;
  let latest = stats.mtimeMs; // a deleted file changes only its folder
  for (const name of readdirSync(path)) latest = Math.max(latest, newest(join(path, name)));
  return latest;
}

/** The oldest output's modification time, or 0 when any is missing. */
function builtAt() {
  let oldest = Infinity;
  for (const output of OUTPUTS) {
    try {
      oldest = Math.min(oldest, statSync(join(ROOT, output)).mtimeMs);
    } catch {
      return 0;
    }
  }
  return oldest;
}

export function isBuildStale() {
  const sourcesAt = Math.max(...INPUTS.map((input) => newest(join(ROOT, input))));
  return sourcesAt > builtAt();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (isBuildStale()) {
    console.error('holdfast: dist/ is missing or older than src/, building…');
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
  }
}
