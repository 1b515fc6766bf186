import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { frameFuzz, frameFuzzInvalidUtf8 } from './frame-property.js';
import { fuzzSeed, runFuzz } from './support/runner.js';

/**
 * A short run of the frame fuzzing property (npm run fuzz runs it for minutes). FUZZ_SEED replays
 * a run; a failure prints the seed and the shrunk counterexample.
 */
describe('fuzzing: client frames into a live server', () => {
  it('survives random and mutated frame sequences from several connections, and a neighbour keeps working', async () => {
    const result = await runFuzz(frameFuzz, fuzzSeed(frameFuzz.name), 25);
    console.log(`${result.cases} cases in ${result.ms} ms: ${result.summary}`);
    assert.equal(result.failure, undefined, result.failure);
  });

  it('the same with text messages that may not be UTF-8 (closed with 1007, a code PROTOCOL.md lists)', async () => {
    const result = await runFuzz(frameFuzzInvalidUtf8, fuzzSeed(frameFuzzInvalidUtf8.name), 15);
    console.log(`${result.cases} cases in ${result.ms} ms: ${result.summary}`);
    assert.equal(result.failure, undefined, result.failure);
  });
});
