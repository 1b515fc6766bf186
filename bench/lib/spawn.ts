import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { buildSync } from 'esbuild';

type Message = { type: string; [field: string]: unknown };

const children = new Set<ChildProcess>();

/** Also kill this process when the run ends or is stopped. */
export function registerProcess(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
}

/** Kills every child still running (SIGKILL, by pid): on exit, on a signal, on the global deadline. */
export function killChildren(): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
}
process.on('exit', killChildren);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killChildren();
    process.exit(130);
  });
}

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** CPUs this process may run on (Linux); undefined elsewhere. */
function allowedCpus(): number[] | undefined {
  try {
    const out = execFileSync('taskset', ['-pc', String(process.pid)], { encoding: 'utf8' });
    const list = out.split(':').pop()?.trim() ?? '';
    const cpus: number[] = [];
    for (const part of list.split(',')) {
      const [from, to] = part.split('-').map(Number);
      if (from === undefined || Number.isNaN(from)) continue;
      for (let cpu = from; cpu <= (to ?? from); cpu++) cpus.push(cpu);
    }
    return cpus.length > 0 ? cpus : undefined;
  } catch {
    return undefined;
  }
}

const cpus = hasTaskset() ? allowedCpus() : undefined;
/** The two CPUs the server and the load process are pinned to, when pinning is possible. */
export const pinning: { server: number; load: number } | undefined =
  cpus !== undefined && cpus.length >= 2 ? { server: cpus[0]!, load: cpus[1]! } : undefined;

/** Soft and hard limits on open files, as the shell reports them (Infinity for "unlimited"). */
export function fileLimits(): { soft: number; hard: number } {
  try {
    const [soft, hard] = execFileSync('sh', ['-c', 'ulimit -Sn; ulimit -Hn'], { encoding: 'utf8' }).trim().split('\n');
    const parse = (value: string | undefined): number => (value === undefined || value === 'unlimited' ? Infinity : Number(value));
    return { soft: parse(soft), hard: parse(hard) };
  } catch {
    return { soft: 1024, hard: 1024 };
  }
}

export interface SpawnOptions {
  nodeArgs: string[];
  args?: string[];
  cpu?: number | undefined;
  /** Raise the child's open-file limit to this (through `sh -c 'ulimit -n …; exec …'`). */
  fileLimit?: number | undefined;
  cwd: string;
}

/**
 * Child scripts are TypeScript; running them under tsx would also run the library through tsx,
 * whose transform wraps every closure in a naming helper and costs the server under test a
 * measurable share of its CPU. So each script is bundled once with esbuild (into bench/.build/, inside the package so that `holdfast/*` resolves to itself; its own relative
 * imports only: packages, including `holdfast/*` — the built `dist/`, as users load it — stay
 * external) and run by plain node.
 */
const bundled = new Map<string, string>();
function bundle(cwd: string, script: string): string {
  const source = resolve(cwd, script);
  let out = bundled.get(source);
  if (out !== undefined) return out;
  const folder = resolve(cwd, 'bench/.build');
  mkdirSync(folder, { recursive: true });
  out = join(folder, `${script.replace(/[\\/]/g, '_').replace(/\.ts$/, '')}.mjs`);
  buildSync({
    entryPoints: [source],
    outfile: out,
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'error',
    banner: { js: `// bundled from ${basename(script)} by bench/lib/spawn.ts` },
  });
  bundled.set(source, out);
  return out;
}

/** A child process speaking the bench IPC messages, with awaitable answers. */
export class Child {
  readonly exited: Promise<number | null>;
  private readonly process: ChildProcess;
  private readonly inbox: Message[] = [];
  private readonly waiters: Array<{ type: string; resolve: (message: Message) => void; reject: (error: Error) => void }> = [];
  private readonly listeners: Array<(message: Message) => void> = [];
  private failure: Error | undefined;

  constructor(
    readonly name: string,
    script: string,
    options: SpawnOptions,
  ) {
    const entry = script.endsWith('.ts') ? bundle(options.cwd, script) : script;
    let command = [process.execPath, ...options.nodeArgs, entry, ...(options.args ?? [])];
    if (options.fileLimit !== undefined) command = ['sh', '-c', `ulimit -n ${options.fileLimit} && exec "$@"`, 'sh', ...command];
    if (options.cpu !== undefined) command = ['taskset', '-c', String(options.cpu), ...command];
    const [file, ...args] = command as [string, ...string[]];
    this.process = spawn(file, args, { cwd: options.cwd, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    children.add(this.process);
    this.process.on('message', (raw) => this.receive(raw as Message));
    this.exited = new Promise((resolve) => {
      this.process.on('exit', (code, signal) => {
        children.delete(this.process);
        this.fail(new Error(`${name} exited (code ${code}, signal ${signal}) before answering`));
        resolve(code);
      });
      this.process.on('error', (error) => {
        children.delete(this.process);
        this.fail(new Error(`${name}: ${error.message}`));
        resolve(null);
      });
    });
  }

  /** SIGKILL, as a crash would (the storm). */
  kill(): void {
    this.process.kill('SIGKILL');
  }

  send(message: object): void {
    if (this.process.connected) this.process.send(message);
  }

  onMessage(listener: (message: Message) => void): void {
    this.listeners.push(listener);
  }

  /** The next message of `type` (queued ones first); rejects on a timeout, a 'fatal' report or an exit. */
  next<T>(type: string, timeoutMs: number): Promise<T> {
    const index = this.inbox.findIndex((message) => message.type === type);
    if (index >= 0) return Promise.resolve(this.inbox.splice(index, 1)[0] as T);
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        const at = this.waiters.indexOf(waiter);
        if (at >= 0) this.waiters.splice(at, 1);
        reject(new Error(`${this.name}: no '${type}' within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = {
        type,
        resolve: (message: Message) => {
          clearTimeout(timer);
          resolve(message as T);
        },
        reject: (error: Error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.waiters.push(waiter);
    });
  }

  /** Asks and waits for the answer of the same type. */
  ask<T>(message: { type: string }, timeoutMs: number): Promise<T> {
    const answer = this.next<T>(message.type, timeoutMs);
    this.send(message);
    return answer;
  }

  /** Waits up to `graceMs` for the child to exit by itself, then kills it. */
  async finish(graceMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), graceMs)));
    const outcome = await Promise.race([this.exited, late]);
    clearTimeout(timer);
    if (outcome === 'late') {
      console.error(`[bench] ${this.name} did not exit within ${graceMs} ms; killing it`);
      this.process.kill('SIGKILL');
      await this.exited;
    }
  }

  private receive(message: Message): void {
    for (const listener of this.listeners) listener(message);
    if (message.type === 'fatal') return this.fail(new Error(String(message['message'])));
    const index = this.waiters.findIndex((waiter) => waiter.type === message.type);
    if (index >= 0) this.waiters.splice(index, 1)[0]!.resolve(message);
    else this.inbox.push(message);
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }
}
