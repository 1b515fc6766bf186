import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

export interface SystemSample {
  busy: number;
  total: number;
}

/** Whole-machine CPU counters (Linux /proc/stat, in ticks); undefined elsewhere. */
export function systemSample(): SystemSample | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    const fields = line.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
    const busy = user + nice + system + irq + softirq + steal;
    return { busy, total: busy + idle + iowait };
  } catch {
    return undefined;
  }
}

/** Cores' worth of CPU the whole machine used between two samples. */
export function machineCores(from: SystemSample | undefined, to: SystemSample | undefined): number | undefined {
  if (from === undefined || to === undefined || to.total <= from.total) return undefined;
  return ((to.busy - from.busy) / (to.total - from.total)) * cpus().length;
}
