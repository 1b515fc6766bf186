import type { StreamInfo } from '../types.js';
import type { Statements } from './statements.js';

/** Where a trim stops: offsets up to the larger of these two cutoffs go. */

/** The newest offset that maxCount does not keep, or 0. */
export function countCutoff(sql: Statements, topic: string, maxCount: number | undefined): number {
  if (maxCount === undefined) return 0;
  const row = sql.nthNewest.get(topic, Math.max(0, maxCount)) as { offset: number } | undefined;
  return row?.offset ?? 0;
}

/**
 * The newest offset older than maxAgeMs, or 0. Times grow with offsets (one clock appends), so a
 * binary search over offsets finds it with a few indexed lookups, never a scan.
 */
export function ageCutoff(sql: Statements, topic: string, { first, head }: Pick<StreamInfo, 'first' | 'head'>, maxAgeMs: number | undefined, now: number): number {
  if (maxAgeMs === undefined) return 0;
  const cutoff = now - maxAgeMs;
  let lo = first;
  let hi = head + 1; // the first offset whose next retained message is young (or there is none)
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const next = sql.firstFrom.get(topic, mid) as { offset: number; time: number } | undefined;
    if (next === undefined || next.time >= cutoff) hi = mid;
    else lo = next.offset + 1;
  }
  return lo - 1;
}
