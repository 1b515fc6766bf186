import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FaultProxy } from './fault-proxy.js';
import { gone, killNow, sleep, spawnNode, stopGently } from './processes.js';

const TSX = import.meta.resolve('tsx');
const script = (name: string) => fileURLToPath(new URL(`./${name}.ts`, import.meta.url));

/** How long a publisher asked to stop waits for the acknowledgements it is owed. */
export const PUBLISHER_DRAIN_MS = 30_000;

/**
 * A publisher or subscriber of the run: a child process behind a fault proxy of its own (its
 * network, which outlives its incarnations), logging to `pub-<i>.log` or `sub-<i>.log`. Each
 * (re)start is a new incarnation: a publisher's stream id is `pub<i>.<incarnation>`.
 */
export class ClientProcess {
  private child: ChildProcess | undefined;
  private incarnation = 0;
  private stopped = false;
  /** Incarnations that exited without being told to: the run reports them. */
  readonly surprises: string[] = [];

  constructor(
    readonly role: 'pub' | 'sub',
    readonly index: number,
    readonly proxy: FaultProxy,
    private readonly logDir: string,
    private readonly pace: number,
  ) {}

  get name(): string {
    return `${this.role}${this.index}`;
  }

  get logFile(): string {
    return join(this.logDir, `${this.role}-${this.index}.log`);
  }

  get running(): boolean {
    return !gone(this.child);
  }

  start(): void {
    this.incarnation++;
    const id = `${this.name}.${this.incarnation}`;
    const args =
      this.role === 'pub'
        ? ['--import', TSX, script('publisher'), '--url', this.proxy.url, '--stream', id, '--log', this.logFile, '--pace', String(this.pace), '--drain', String(PUBLISHER_DRAIN_MS)]
        : ['--import', TSX, script('subscriber'), '--url', this.proxy.url, '--name', id, '--log', this.logFile];
    const child = spawnNode(args, join(this.logDir, `${this.role}-${this.index}.out`));
    this.child = child;
    child.once('exit', (code, signal) => {
      if (signal === 'SIGKILL') return; // ours: a fault, or the end of a stop that took too long (reported there)
      if (!this.stopped) this.surprises.push(`${id} (pid ${child.pid}) exited by itself: code ${code} signal ${signal}; see ${this.role}-${this.index}.out`);
      // Started during the drain and stopped while Node was still loading it, before its handler
      // existed (it logs `start` only once the handler is in): it did nothing, nothing to report.
      else if (signal === 'SIGTERM' && !this.logged(id)) return;
      else if (code !== 0) this.surprises.push(`${id} (pid ${child.pid}) exited with code ${code} signal ${signal} when asked to stop; see ${this.role}-${this.index}.out`);
    });
  }

  /** Whether incarnation `id` wrote its `start` line. */
  private logged(id: string): boolean {
    try {
      return readFileSync(this.logFile, 'utf8').includes(`"k":"start","${this.role === 'pub' ? 'p' : 's'}":"${id}"`);
    } catch {
      return false;
    }
  }

  /** SIGKILLs the process, waits `downMs`, and starts the next incarnation. */
  async kill(downMs: number): Promise<void> {
    await killNow(this.child);
    await sleep(downMs);
    if (!this.stopped) this.start();
  }

  /** Starts the process if it is not running (after the faults stopped). */
  ensureUp(): void {
    if (!this.running && !this.stopped) this.start();
  }

  /** SIGTERM (a publisher then waits for its acknowledgements), SIGKILL after `ms`. */
  async stop(ms: number): Promise<void> {
    this.stopped = true;
    if (!(await stopGently(this.child, ms))) this.surprises.push(`${this.name}.${this.incarnation} did not stop within ${ms} ms of SIGTERM and was killed`);
  }

  /** Kills without asking (cleanup on an error or Ctrl-C). */
  async abort(): Promise<void> {
    this.stopped = true;
    await killNow(this.child);
  }
}
