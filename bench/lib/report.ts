import type { StallFigures } from './ipc.js';

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
