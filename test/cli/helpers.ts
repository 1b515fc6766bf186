import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The CLI's entry point, run from source. */
export const MAIN = join(ROOT, 'src', 'cli', 'main.ts');

/** The tsx loader as a file URL, so the CLI can run from any working directory. */
export const TSX = import.meta.resolve('tsx');

/**
 * Runs the CLI from source, as `node --import tsx src/cli/main.ts …`, in the package root unless
 * `options.cwd` says otherwise. `options.nodeArgs` go before the script (more `--import`s).
 */
export function cli(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string; nodeArgs?: string[]; spawn?: Pick<SpawnOptions, 'uid' | 'gid'> } = {},
): ChildProcess {
  return spawn(process.execPath, ['--import', TSX, ...(options.nodeArgs ?? []), MAIN, ...args], {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...options.spawn,
  });
}

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Collects the output of a child and resolves when it has exited. Call it right after spawning. */
export function finished(child: ChildProcess): Promise<Finished> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Waits for the start-up lines and returns the URLs and the store they name. */
export function listening(child: ChildProcess, timeout = 15_000): Promise<{ url: string; wsUrl: string; store: string }> {
  return new Promise((resolve, reject) => {
    let output = '';
    let errors = '';
    const timer = setTimeout(() => reject(new Error(`no start-up line within ${timeout} ms: ${output}${errors}`)), timeout);
    child.stderr?.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      // The whole start-up block, so that a test sees every line of it.
      const match = /Holdfast listening on (http:\/\/\S+) \(WebSocket (ws:\/\/\S+)\)\nstore: (.*)\nanonymous clients: .*\n/.exec(output);
      if (match?.[1] !== undefined && match[2] !== undefined && match[3] !== undefined) {
        clearTimeout(timer);
        resolve({ url: match[1], wsUrl: match[2], store: match[3] });
      }
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before listening: ${output}${errors}`));
    });
  });
}

/**
 * Builds the browser bundle into a fresh temp folder, the layout `npm run build` gives dist/
 * (browser/holdfast-client.js), so the tests leave the shared dist/ alone.
 */
export async function buildLib(): Promise<string> {
  // The build script itself, so the tests serve exactly what `npm run build` writes.
  const { bundleClient } = (await import(pathToFileURL(join(ROOT, 'scripts', 'bundle-client.mjs')).href)) as {
    bundleClient(outdir: string): Promise<string>;
  };
  const outdir = await mkdtemp(join(tmpdir(), 'holdfast-lib-'));
  await bundleClient(join(outdir, 'browser'));
  return outdir;
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request with the path sent exactly as given (no normalisation of `..`). */
export function http(
  base: string,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<HttpResult> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path, method: options.method ?? 'GET', headers: options.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

export function publish(base: string, body: unknown, headers: Record<string, string> = {}): Promise<HttpResult> {
  return http(base, '/api/publish', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}
