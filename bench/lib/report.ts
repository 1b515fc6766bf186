import type { StallFigures } from './ipc.js';
import type { MemoryFigures, ThroughputFigures } from './scenarios.js';

const int = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const pct = (value: number | undefined): string => (value === undefined || Number.isNaN(value) ? '-' : `${Math.round(value * 100)}%`);
const num = (value: number | undefined): string => (value === undefined || Number.isNaN(value) ? '-' : int.format(value));
const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function throughputTable(rows: Array<[label: string, figures: ThroughputFigures | undefined, error?: string]>): string {
  return table(
    ['scenario', 'msg/s (median)', 'per window', 'server CPU', 'load CPU', 'other CPU', 'server RSS after', 'errors'],
    rows.map(([label, f, error]) =>
      f === undefined
        ? [label, 'failed', '', '', '', '', '', error ?? '']
        : [
            label,
            num(f.messagesPerSecond),
            f.rates.map((rate) => num(rate)).join(' / '),
            pct(f.serverCpu),
            pct(f.loadCpu),
            pct(f.otherCpu),
            f.serverMemoryAfter === undefined ? '-' : `${(f.serverMemoryAfter.rss / 2 ** 20).toFixed(0)} MiB`,
            Object.entries(f.errors)
              .map(([key, count]) => `${key} ×${count}`)
              .join(', ') || 'none',
          ],
    ),
  );
}

export function memoryTable(rows: Array<[label: string, figures: MemoryFigures | undefined, error?: string]>): string {
  return table(
    ['server', 'connections', 'RSS / conn', 'heapUsed / conn', 'external / conn', 'RSS before → after', 'open time'],
    rows.map(([label, f, error]) =>
      f === undefined
        ? [label, 'failed', error ?? '', '', '', '', '']
        : [
            label,
            `${f.opened}/${f.requested}${f.failed > 0 ? ` (${f.failed} failed)` : ''}`,
            `${num(f.perConnection.rss)} B`,
            `${num(f.perConnection.heapUsed)} B`,
            `${num(f.perConnection.external)} B`,
            `${(f.before.rss / 2 ** 20).toFixed(1)} → ${(f.after.rss / 2 ** 20).toFixed(1)} MiB`,
            `${(f.openMs / 1000).toFixed(1)} s`,
          ],
    ),
  );
}

const millis = (value: number | undefined): string => (value === undefined || Number.isNaN(value) ? '-' : value < 10 ? value.toFixed(1) : int.format(value));

export function stallTable(rows: Array<[label: string, figures: StallFigures | undefined, error?: string]>): string {
  return table(
    ['operation', 'rows removed', 'duration', 'rows/s', 'max stall (1 ms timer)', 'loop delay p50', 'p99', 'max', 'timer ticks'],
    rows.map(([label, f, error]) =>
      f === undefined
        ? [label, 'failed', error ?? '', '', '', '', '', '', '']
        : [
            label,
            num(f.rows),
            `${millis(f.ms)} ms`,
            f.rows > 0 ? num((f.rows * 1000) / f.ms) : '-',
            `${millis(f.maxStallMs)} ms`,
            `${millis(f.loopDelay.p50)} ms`,
            `${millis(f.loopDelay.p99)} ms`,
            `${millis(f.loopDelay.max)} ms`,
            num(f.ticks),
          ],
    ),
  );
}

export { kib, millis, num, pct };
