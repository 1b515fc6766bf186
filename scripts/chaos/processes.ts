import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { connect } from 'node:net';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Starts `node …args` with stdout and stderr appended to `outFile` (which outlives the process). */
export function spawnNode(args: string[], outFile: string): ChildProcess {
  const out = openSync(outFile, 'a');
  try {
    return spawn(process.execPath, args, { stdio: ['ignore', out, out] });
  } finally {
    closeSync(out);
  }
}

/** Whether the process has exited (or was never started). */
export function gone(child: ChildProcess | undefined): boolean {
  return child === undefined || child.exitCode !== null || child.signalCode !== null;
}

/** Waits for the process to exit. */
export function exited(child: ChildProcess): Promise<void> {
  return gone(child) ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
}

/** SIGKILL, and wait until the process is gone. */
export async function killNow(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || gone(child)) return;
  child.kill('SIGKILL');
  await exited(child);
}

/** SIGTERM, then SIGKILL after `ms`. Resolves with whether it exited by itself. */
export async function stopGently(child: ChildProcess | undefined, ms: number): Promise<boolean> {
  if (child === undefined || gone(child)) return true;
  child.kill('SIGTERM');
  let clean = true;
  const timer = setTimeout(() => {
    clean = false;
    child.kill('SIGKILL');
  }, ms);
  await exited(child);
  clearTimeout(timer);
  return clean;
}

/** Whether something accepts TCP connections on the port. */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}
