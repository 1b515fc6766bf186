import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

/** The repository root, so that `--import tsx` resolves whatever the test's working directory. */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const living = new Set<ChildProcess>();

/**
 * A TypeScript script of test/support (`script` is relative to this file) run as
 * `node --import tsx <script> …args` in a child process, with its
 * stdout read line by line. Every child is tracked so that `killChildren()` (in an after() hook)
 * leaves none behind, even when a test fails half-way.
 */
export class Child {
  readonly process: ChildProcess;
  /** Every stdout line so far. */
  readonly lines: string[] = [];
  /** The tail of stderr, for failure messages. */
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly lineWaiters = new Set<() => void>();

  constructor(script: string, args: string[]) {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL(script, import.meta.url)), ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.process = child;
    living.add(child);
    let partial = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      partial += chunk;
      const parts = partial.split('\n');
      partial = parts.pop()!;
      this.lines.push(...parts);
      for (const wake of [...this.lineWaiters]) wake();
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-20_000);
    });
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        living.delete(child);
        this.exitInfo = { code, signal };
        for (const wake of [...this.lineWaiters]) wake();
        resolve(this.exitInfo);
      });
    });
  }

  get pid(): number {
    return this.process.pid!;
  }

  get alive(): boolean {
    return this.exitInfo === undefined;
  }

  /** Resolves with the first stdout line (from `from` on) that `match` accepts; rejects if the child exits first or after `ms`. */
  waitForLine(match: (line: string) => boolean, ms: number, from = 0): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const line = this.lines.slice(from).find(match);
        if (line !== undefined) return done(() => resolve(line));
        if (this.exitInfo !== undefined) {
          return done(() => reject(new Error(`child ${this.pid} exited (${JSON.stringify(this.exitInfo)}) before the expected line; stderr:\n${this.stderr}`)));
        }
      };
      const timer = setTimeout(() => done(() => reject(new Error(`no expected line from child ${this.pid} within ${ms} ms; stderr:\n${this.stderr}`))), ms);
      const done = (settle: () => void) => {
        clearTimeout(timer);
        this.lineWaiters.delete(check);
        settle();
      };
      this.lineWaiters.add(check);
      check();
    });
  }

  /** SIGKILL, and wait until the process is gone (so its file lock and port are free). */
  async kill(): Promise<void> {
    if (this.alive) this.process.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM, then SIGKILL if the child is still there after `ms`. Resolves with the exit code (null when killed). */
  async stop(ms = 10_000): Promise<number | null> {
    if (!this.alive) return (await this.exited).code;
    this.process.kill('SIGTERM');
    const timer = setTimeout(() => this.process.kill('SIGKILL'), ms);
    const { code } = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

/** SIGKILLs every child still running and waits for them to be gone. */
export async function killChildren(): Promise<void> {
  const exits = [...living].map(
    (child) =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  );
  await Promise.all(exits);
}

/** A TCP port free right now on loopback (a server restarted on it keeps the clients' URL valid). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * A free port below the kernel's ephemeral range, for a server that is killed and restarted on
 * the same port: while it is down, a port from the ephemeral range (what `freePort` returns) can be
 * handed to some outgoing connection as its local port, and the restart then fails with EADDRINUSE
 * until that connection closes. Falls back to `freePort` where the range cannot be read.
 */
export async function restartablePort(): Promise<number> {
  let low = 0;
  try {
    low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  } catch {
    return freePort();
  }
  const floor = 10_000;
  if (!(low > floor + 1000)) return freePort();
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = floor + Math.floor(Math.random() * (low - floor));
    const server = createServer();
    const free = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (free) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      return port;
    }
  }
  return freePort();
}
