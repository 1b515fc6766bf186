import assert from 'node:assert/strict';
import { RawPeer } from '../support/raw-peer.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { http, ROOT } from './helpers.js';

const MAIN = join(ROOT, 'src', 'cli', 'main.ts');

/** Runs the CLI from source, as `node --import tsx src/cli/main.ts …`. */
function cli(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function finished(child: ChildProcess): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Waits for the start-up line and returns the URLs it names. */
function listening(child: ChildProcess, timeout = 15_000): Promise<{ url: string; wsUrl: string }> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`no start-up line within ${timeout} ms: ${output}`)), timeout);
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Holdfast listening on (http:\/\/\S+) \(WebSocket (ws:\/\/\S+)\)/.exec(output);
      if (match?.[1] !== undefined && match[2] !== undefined) {
        clearTimeout(timer);
        resolve({ url: match[1], wsUrl: match[2] });
      }
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before listening: ${output}`));
    });
  });
}

describe('holdfast CLI', () => {
  it('serve --port 0 prints the real port, serves the demo and the WebSocket, and exits 0 on SIGTERM', async () => {
    const child = cli(['serve', '--port', '0', '--api-key', 'k']);
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
    const { code, stdout } = await finished(cli(['--version']));
    assert.equal(code, 0);
    assert.equal(stdout.trim(), version);
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
