import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, it } from 'node:test';
import { finished, ROOT, TSX } from '../cli/helpers.js';
import { spawn } from 'node:child_process';
import { nginxPresent } from '../support/nginx.js';
import { ownRedisPossible } from '../support/redis.js';

const possible = nginxPresent() && ownRedisPossible('the chaos command');
if (!possible && process.env['CI'] === 'true') throw new Error('nginx or redis-server is missing, and CI installs both: the setup is broken');

/** Processes whose command line mentions `text` (Linux; elsewhere none are found). */
function processesMentioning(text: string): string[] {
  if (!existsSync('/proc')) return [];
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((pid) => {
      try {
        const command = readFileSync(join('/proc', pid, 'cmdline'), 'utf8').replaceAll('\0', ' ');
        return command.includes(text) ? [`${pid}: ${command}`] : [];
      } catch {
        return []; // gone meanwhile
      }
    });
}

/**
 * `npm run chaos` for 15 s on two nodes, through the command itself (dist/ is built by `npm test`).
 * Seed 1's plan holds every kind of fault, a Redis kill included; whatever the timing, the checker
 * must find nothing lost, repeated or reordered, and the command must leave nothing behind.
 */
describe('npm run chaos', { skip: possible ? false : 'needs nginx and redis-server (CI installs both)' }, () => {
  it('breaks a two-node deployment with every kind of fault for 15 s and loses nothing', { timeout: 90_000 }, async () => {
    const child = spawn(process.execPath, ['--import', TSX, join(ROOT, 'scripts', 'chaos.ts'), '--seed', '1', '--minutes', '0.25', '--nodes', '2'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const { code, stdout, stderr } = await finished(child);
    const output = `${stdout}\n${stderr}`;
    const summary = /^chaos seed=1 faults=(\d+) published=(\d+) acked=(\d+) delivered=(\d+) lost=(\d+) duplicated=(\d+) reordered=(\d+)$/m.exec(stdout);
    assert.ok(summary, `no summary line:\n${output}`);
    const [faults, published, acked, delivered, lost, duplicated, reordered] = summary.slice(1).map(Number) as [number, number, number, number, number, number, number];
    assert.ok(faults > 0 && published > 0 && acked > 0 && delivered >= 3 * acked, output);
    assert.deepEqual({ lost, duplicated, reordered }, { lost: 0, duplicated: 0, reordered: 0 }, output);
    assert.match(stdout, /^also phantom=0 unrecovered=0 diverged=0 stuck=0 gave-up=0$/m, output);
    const kinds = /^faults by kind: (.*)$/m.exec(stdout)?.[1] ?? '';
    for (const kind of ['cut', 'half-open', 'delay', 'node-kill', 'redis-kill', 'client-kill']) assert.match(kinds, new RegExp(`\\b${kind}=[1-9]`), output);
    assert.match(stdout, /^replay: npm run chaos -- --seed 1 --minutes 0.25 --nodes 2$/m);
    assert.equal(code, 0, output);

    // A passing run removes its logs, and nothing it started is still running: the clients log
    // into that folder, Redis keeps its AOF there, the nodes use its name as their Redis prefix.
    const dir = /logs in (\S+)/.exec(stdout)?.[1];
    assert.ok(dir !== undefined && !existsSync(dir), `logs folder ${dir} removed`);
    assert.deepEqual(processesMentioning(basename(dir)), []);
  });
});
