import fc from 'fast-check';
import { EscapeTrap } from './trap.js';

/** A server (or other fixture) with a property to run against it, opened once per fuzz run. */
export interface FuzzFixture {
  property: fc.IAsyncProperty<[unknown]>;
  /** Invariants over the whole run, after every case (memory back near its baseline…); throws when broken. */
  afterRuns(): Promise<void>;
  close(): Promise<void>;
  /** What the cases met (codes seen and how often), for the fuzz runner's output. */
  summary?(): string;
}

/** A property of the server under hostile input, shared by the tests and `npm run fuzz`. */
export interface FuzzProperty {
  name: string;
  /** Opens a fresh fixture; `trap` collects what escapes to the event loop during the runs. */
  open(trap: EscapeTrap): Promise<FuzzFixture>;
}

export interface FuzzResult {
  name: string;
  seed: number;
  /** Cases executed, shrinking included. */
  cases: number;
  ms: number;
  summary: string;
  /** The budget ran out before numRuns cases (or before shrinking finished). */
  interrupted: boolean;
  /** Undefined when the property held; otherwise fast-check's report (seed, path, counterexample) or the broken invariant. */
  failure: string | undefined;
}

/** A case that takes longer hangs somewhere: it fails instead of stalling the run. */
const CASE_TIMEOUT_MS = 60_000;

/** The seed from FUZZ_SEED, or a fresh one; printed either way so a failing run can be replayed. */
export function fuzzSeed(name: string, fresh = Date.now() ^ (Math.random() * 2 ** 31)): number {
  const given = process.env.FUZZ_SEED;
  const seed = given === undefined || given === '' ? fresh | 0 : Number(given);
  if (!Number.isInteger(seed)) throw new Error(`FUZZ_SEED must be an integer, not "${given}"`);
  console.log('fuzz seed', seed, `(${name}; replay with FUZZ_SEED=${seed})`);
  return seed;
}

/**
 * Runs one property with `seed` for `numRuns` cases against a fixture of its own; never throws.
 * Past `budgetMs` it stops: early, if nothing failed; with the counterexample shrunk so far, if something did.
 */
export async function runFuzz(property: FuzzProperty, seed: number, numRuns: number, budgetMs = 120_000): Promise<FuzzResult> {
  const started = Date.now();
  const trap = new EscapeTrap().install();
  let fixture: FuzzFixture | undefined;
  let cases = 0;
  let failure: string | undefined;
  let summary = '';
  let interrupted = false;
  try {
    fixture = await property.open(trap);
    const details = await fc.check(fixture.property, { seed, numRuns, verbose: 1, includeErrorInReport: true, timeout: CASE_TIMEOUT_MS, interruptAfterTimeLimit: budgetMs });
    cases = details.numRuns + details.numShrinks;
    interrupted = details.interrupted;
    if (details.failed) failure = fc.defaultReportMessage(details) ?? `failed with seed ${seed}`;
    else await fixture.afterRuns();
  } catch (error) {
    failure = `${property.name}, seed ${seed}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
  } finally {
    summary = fixture?.summary?.() ?? '';
    await fixture?.close().catch((error: unknown) => (failure ??= `${property.name}, seed ${seed}: closing failed: ${String(error)}`));
    trap.uninstall();
  }
  if (failure === undefined && trap.escaped.length > 0) failure = `${property.name}, seed ${seed}: ${trap.escaped.length} error(s) escaped outside a case: ${String(trap.escaped[0])}`;
  return { name: property.name, seed, cases, ms: Date.now() - started, summary, interrupted, failure };
}
