/**
 * Number and text formatting shared by the markdown report and the chart, so that a ratio reads
 * the same in both (`0.42×`).
 */

const dash = '–';
const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

const missing = (value: number | undefined): value is undefined => value === undefined || !Number.isFinite(value);

/** Integer with thousands separators: `12,345`. */
export function int(value: number | undefined): string {
  return missing(value) ? dash : integer.format(value);
}

/**
 * A measured quantity with as many decimals as it needs to be read at a glance: small values keep
 * two decimals (0.35 ms), large ones none but thousands separators (12,345 ms).
 */
export function amount(value: number | undefined): string {
  if (missing(value)) return dash;
  const size = Math.abs(value);
  if (size >= 100 || Number.isInteger(value)) return integer.format(value);
  return value.toFixed(size >= 10 ? 1 : 2);
}

/** A ratio: `0.42×`, `12.3×`, `1,234×`. */
export function ratio(value: number | undefined): string {
  if (missing(value)) return dash;
  const size = Math.abs(value);
  if (size >= 100) return `${integer.format(value)}×`;
  return `${value.toFixed(size >= 10 ? 1 : 2)}×`;
}

/** A share of one core (0..1 and more): `98%`. */
export function percent(value: number | undefined): string {
  return missing(value) ? dash : `${Math.round(value * 100)}%`;
}

/** Bytes with separators, and MiB/KiB in parentheses when that is easier to read. */
export function bytes(value: number | undefined): string {
  if (missing(value)) return dash;
  const size = Math.abs(value);
  if (size >= 2 ** 20) return `${integer.format(value)} B (${(value / 2 ** 20).toFixed(1)} MiB)`;
  if (size >= 10 * 1024) return `${integer.format(value)} B (${(value / 1024).toFixed(1)} KiB)`;
  return `${integer.format(value)} B`;
}

/** Milliseconds, with decimals by size alone so a column reads evenly (3.00 ms next to 1.25 ms). */
export function ms(value: number | undefined): string {
  if (missing(value)) return dash;
  const size = Math.abs(value);
  return `${size >= 100 ? integer.format(value) : value.toFixed(size >= 10 ? 1 : 2)} ms`;
}

/** `{ timeout: 2, 'RATE_LIMITED': 15 }` → `timeout ×2, RATE_LIMITED ×15`; `none` when empty. */
export function counts(record: Record<string, number> | undefined): string {
  const entries = Object.entries(record ?? {}).filter(([, count]) => count > 0);
  return entries.length === 0 ? 'none' : entries.map(([key, count]) => `${key} ×${int(count)}`).join(', ');
}

/** ISO date → `2026-11-22 05:25 UTC`; anything unparsable is shown as given. */
export function when(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** Text safe inside a markdown table cell: no pipes breaking the row, no line breaks. */
export function cell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ').trim();
}

export { dash };
