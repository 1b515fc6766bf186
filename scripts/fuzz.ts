/**
 * `npm run fuzz -- --minutes N [--seed S] [--only NAME,…]`: runs the fuzzing properties of
 * test/fuzz/ round after round with fresh seeds until N minutes (default 1) have passed. Prints
 * every round's seed and cases, and the seed and counterexample of a failure; exits 1 on a failure.
 * `--seed` is the seed of each property's first round (replay a failure with it and `--only`).
 */
import { parseArgs } from 'node:util';
import { FUZZ_PROPERTIES, type FuzzEntry } from '../test/fuzz/properties.js';
import { runFuzz, type FuzzResult } from '../test/fuzz/support/runner.js';

const { values } = parseArgs({ options: { minutes: { type: 'string', default: '1' }, seed: { type: 'string' }, only: { type: 'string' } } });
const minutes = Number(values.minutes);
const firstSeed = values.seed === undefined ? undefined : Number(values.seed);
if (!(minutes > 0) || (firstSeed !== undefined && !Number.isInteger(firstSeed))) {
  console.error('usage: npm run fuzz -- [--minutes N] [--seed S] [--only frames,http,…]');
  process.exit(2);
}
const names = values.only?.split(',');
const entries = FUZZ_PROPERTIES.filter((entry) => names === undefined || names.includes(entry.property.name));
if (entries.length === 0) {
  console.error(`no property named ${values.only}; there are ${FUZZ_PROPERTIES.map((e) => e.property.name).join(', ')}`);
  process.exit(2);
}

const deadline = Date.now() + minutes * 60_000;
const failures: FuzzResult[] = [];
const totals = new Map<string, { rounds: number; cases: number; ms: number }>();
const active = new Set<FuzzEntry>(entries); // a property that failed is not run again
console.log(`fuzzing ${entries.map((e) => e.property.name).join(', ')} for ${minutes} min`);

for (let round = 0; active.size > 0 && Date.now() < deadline; round++) {
  for (const entry of [...active]) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    const seed = round === 0 && firstSeed !== undefined ? firstSeed : freshSeed();
    console.log('fuzz seed', seed, `(${entry.property.name})`); // before the round: a hang still leaves its seed
    // The budget bounds a round; a failure found near the deadline still gets time to shrink.
    const result = await runFuzz(entry.property, seed, entry.casesPerRound, Math.max(left, 60_000));
    const total = totals.get(result.name) ?? { rounds: 0, cases: 0, ms: 0 };
    totals.set(result.name, { rounds: total.rounds + 1, cases: total.cases + result.cases, ms: total.ms + result.ms });
    const state = result.failure !== undefined ? 'FAILED' : result.interrupted ? 'ok (stopped at the deadline)' : 'ok';
    console.log(`${result.name} seed ${result.seed}: ${result.cases} cases in ${(result.ms / 1000).toFixed(1)} s, ${state}${entry.pending ? ` [pending: ${entry.pending}]` : ''}`);
    if (result.summary !== '') console.log(`  met: ${result.summary}`);
    if (result.failure !== undefined) {
      console.log(`  replay: npm run fuzz -- --only ${result.name} --seed ${result.seed} (or FUZZ_SEED=${result.seed} with its test)`);
      console.log(indent(result.failure));
      failures.push(result);
      active.delete(entry);
    }
  }
}

console.log('\nsummary');
for (const [name, total] of totals) console.log(`  ${name}: ${total.rounds} round(s), ${total.cases} cases, ${(total.ms / 1000).toFixed(1)} s`);
for (const failure of failures) console.log(`  FAILED ${failure.name} with seed ${failure.seed}`);
process.exit(failures.length > 0 ? 1 : 0);

function freshSeed(): number {
  return (Date.now() ^ (Math.random() * 2 ** 31)) | 0;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `    ${line.length > 4000 ? `${line.slice(0, 4000)}… (${line.length} characters)` : line}`)
    .join('\n');
}
