import { frameFuzz, frameFuzzInvalidUtf8 } from './frame-property.js';
import { httpFuzz } from './http-property.js';
import type { FuzzProperty } from './support/runner.js';

/** A property, how many cases a round of `npm run fuzz` runs, and why it fails today if it does. */
export interface FuzzEntry {
  property: FuzzProperty;
  casesPerRound: number;
  /** Set while the property fails on the current code: it runs in `npm run fuzz`, not in `npm test`. */
  pending?: string;
}

/** Every fuzzing property, shared by the tests (test/fuzz/*.test.ts) and scripts/fuzz.ts. */
export const FUZZ_PROPERTIES: FuzzEntry[] = [
  { property: frameFuzz, casesPerRound: 100 },
  { property: frameFuzzInvalidUtf8, casesPerRound: 100 },
  { property: httpFuzz, casesPerRound: 30 },
];
