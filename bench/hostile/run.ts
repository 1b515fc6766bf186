/**
 * The `hostile` workload of `npm run bench`: every flood of bench/hostile/plans.ts, one after the
 * other, each against a fresh server. Fills `into` as floods finish, so a run stopped by the
 * deadline still records the floods it measured.
 */
import { DEFAULT_LIMITS } from 'holdfast/server';
import type { Failed } from '../lib/results.js';
import type { Setup } from '../lib/scenarios.js';
import { BASELINE_SLACK_BYTES, boundFor, type HostileResults } from './figures.js';
import { runFloodPlan } from './measure.js';
import { floodPlans } from './plans.js';

/** Above this RSS the server under test is killed: the machine is shared, and the flood has made its point. */
export const SAFETY_CAP_BYTES = 3 * 2 ** 30;

type Attempt = <T>(what: string, run: () => Promise<T>) => Promise<T | Failed>;

export function emptyHostileResults(): HostileResults {
  const limits = { maxBufferedBytes: DEFAULT_LIMITS.maxBufferedBytes, maxPayload: DEFAULT_LIMITS.maxPayload };
  return { limits, boundPerConnection: boundFor(limits, 1), baselineSlackPerConnection: BASELINE_SLACK_BYTES, safetyCapBytes: SAFETY_CAP_BYTES, floods: [] };
}

export async function runHostile(setup: Setup, quick: boolean, attempt: Attempt, into: HostileResults = emptyHostileResults()): Promise<HostileResults> {
  for (const plan of floodPlans(quick)) {
    const outcome = await attempt(`hostile: ${plan.kind} (${plan.store})`, () => runFloodPlan(setup, plan, SAFETY_CAP_BYTES));
    if ('error' in outcome) {
      into.floods.push({ kind: plan.kind, store: plan.store, what: plan.what, error: outcome.error });
      continue;
    }
    // The server says what its limits are: the target follows its defaults, whatever they become.
    into.limits = outcome.limits;
    into.boundPerConnection = boundFor(outcome.limits, 1);
    into.floods.push(outcome.figures);
  }
  return into;
}
