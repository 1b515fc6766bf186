/**
 * The server's RSS as the kernel sees it, read from outside the process (/proc/<pid>/status), so a
 * server whose event loop is stuck in a flood is still measured. VmHWM is the peak since the
 * process started, or since it was reset through /proc/<pid>/clear_refs.
 */
import { readFileSync, writeFileSync } from 'node:fs';

export interface ProcMemory {
  rss: number;
  hwm: number;
}

/** VmRSS and VmHWM of a /proc/<pid>/status text, in bytes; undefined when either is missing. */
export function parseStatus(text: string): ProcMemory | undefined {
  const kib = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(text)?.[1]);
  const rss = kib('VmRSS');
  const hwm = kib('VmHWM');
  return Number.isFinite(rss) && Number.isFinite(hwm) ? { rss: rss * 1024, hwm: hwm * 1024 } : undefined;
}

export function procMemory(pid: number): ProcMemory | undefined {
  try {
    return parseStatus(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Resets VmHWM to the current RSS (Linux ≥ 4.0); false where that is not possible. */
export function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/**
 * Polls a process's RSS every `everyMs` and keeps the highest, and calls `onOver` once if it
 * passes `capBytes`. The kernel's VmHWM is the exact peak; the poll is its fallback and the guard.
 */
export class PeakWatch {
  max = 0;
  private readonly timer: NodeJS.Timeout;
  private tripped = false;

  constructor(
    private readonly pid: number,
    capBytes: number,
    onOver: (rss: number) => void,
    /** False when VmHWM could not be reset: it would include peaks from before the baseline. */
    private readonly useHwm: boolean,
    everyMs = 25,
  ) {
    this.timer = setInterval(() => {
      const memory = procMemory(this.pid);
      if (memory === undefined) return;
      this.max = Math.max(this.max, memory.rss, this.useHwm ? memory.hwm : 0);
      if (!this.tripped && memory.rss > capBytes) {
        this.tripped = true;
        onOver(memory.rss);
      }
    }, everyMs);
  }

  /** The peak: the last VmHWM read (if the process still exists) or the highest polled. */
  stop(): number {
    clearInterval(this.timer);
    const memory = procMemory(this.pid);
    if (memory !== undefined) this.max = Math.max(this.max, memory.rss, this.useHwm ? memory.hwm : 0);
    return this.max;
  }
}
