import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { httpFuzz } from './http-property.js';
import { fuzzSeed, runFuzz } from './support/runner.js';

/**
 * PENDING: not matched by `test/**\/*.test.ts`, so `npm test` skips it until the server survives
 * it (a malformed upgrade request-target throws out of the upgrade handler today). Rename it to
 * http-fuzz.test.ts once the fix is merged. Run it alone with
 * `node --import tsx --test test/fuzz/http-fuzz.pending.ts`; FUZZ_SEED replays a run.
 */
describe('fuzzing: HTTP and upgrade bytes into a standalone server', () => {
  it('answers or closes every socket in time, never throws out, and a WebSocket neighbour keeps working', async () => {
    const result = await runFuzz(httpFuzz, fuzzSeed(httpFuzz.name), 30);
    console.log(`${result.cases} cases in ${result.ms} ms: ${result.summary}`);
    assert.equal(result.failure, undefined, result.failure);
  });
});
