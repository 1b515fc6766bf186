import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { httpFuzz } from './http-property.js';
import { fuzzSeed, runFuzz } from './support/runner.js';

/**
 * Found, before the fix: a malformed upgrade request-target threw out of the upgrade handler and
 * ended the process; an upgrade on another path was never answered. Run it alone with
 * `node --import tsx --test test/fuzz/http.test.ts`; FUZZ_SEED replays a run.
 */
describe('fuzzing: HTTP and upgrade bytes into a standalone server', () => {
  it('answers or closes every socket in time, never throws out, and a WebSocket neighbour keeps working', async () => {
    const result = await runFuzz(httpFuzz, fuzzSeed(httpFuzz.name), 30);
    console.log(`${result.cases} cases in ${result.ms} ms: ${result.summary}`);
    assert.equal(result.failure, undefined, result.failure);
  });
});
