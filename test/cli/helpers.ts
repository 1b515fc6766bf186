import { readdir, mkdtemp } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';

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

export type Frame = { type: string; [field: string]: unknown };

/** A bare `ws` client speaking PROTOCOL.md frames directly, with a queue to await frames from. */
export class RawClient {
  readonly frames: Frame[] = [];
  closed: { code: number; reason: string } | undefined;
  private waiters: Array<() => void> = [];

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()) as Frame);
      this.wake();
    });
    socket.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
  }

  static async connect(url: string): Promise<RawClient> {
    const socket = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return new RawClient(socket);
  }

  /** Connects and completes the handshake: hello → welcome. */
  static async welcome(url: string): Promise<{ client: RawClient; welcome: Frame }> {
    const client = await RawClient.connect(url);
    client.send({ type: 'hello', v: 1 });
    return { client, welcome: await client.next((frame) => frame.type === 'welcome') };
  }

  send(frame: Frame): void {
    this.socket.send(JSON.stringify(frame));
  }

  /** Removes and returns the first frame matching `match`, waiting for it if need be. */
  async next(match: (frame: Frame) => boolean, timeout = 3000): Promise<Frame> {
    const deadline = Date.now() + timeout;
    for (;;) {
      const index = this.frames.findIndex(match);
      if (index >= 0) return this.frames.splice(index, 1)[0]!;
      if (this.closed !== undefined) throw new Error(`socket closed (${this.closed.code}) before the expected frame`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching frame within ${timeout} ms; got ${JSON.stringify(this.frames)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Resolves with the close code once the server closed the socket. */
  async closedWith(timeout = 3000): Promise<number> {
    const deadline = Date.now() + timeout;
    while (this.closed === undefined) {
      if (Date.now() > deadline) throw new Error('socket not closed in time');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return this.closed.code;
  }

  close(): void {
    this.socket.close();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }
}
