import { readdir, mkdtemp } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Builds src/client and src/protocol file by file (no bundling, imports kept) into a fresh temp
 * folder, the same layout `tsc -p tsconfig.build.json` gives dist/. esbuild takes milliseconds and
 * ignores type errors elsewhere in the tree, and the shared dist/ is left alone.
 */
export async function buildLib(): Promise<string> {
  const { build } = await import('esbuild');
  const outdir = await mkdtemp(join(tmpdir(), 'holdfast-lib-'));
  const entryPoints: string[] = [];
  for (const folder of ['client', 'protocol']) {
    for (const file of await readdir(join(ROOT, 'src', folder))) {
      if (file.endsWith('.ts') && !file.endsWith('.d.ts')) entryPoints.push(join(ROOT, 'src', folder, file));
    }
  }
  await build({ entryPoints, outdir, outbase: join(ROOT, 'src'), format: 'esm', platform: 'neutral', bundle: false, logLevel: 'silent' });
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
