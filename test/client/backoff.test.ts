import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Backoff, fullJitterDelay, type BackoffOptions } from '../../src/client/backoff.js';

const options: BackoffOptions = { initialDelay: 1000, maxDelay: 30_000, maxAttempts: Infinity, maxElapsed: Infinity, resetAfter: 5000 };

function delays(backoff: Backoff, count: number, now = 0): number[] {
  const result: number[] = [];
  for (let i = 0; i < count; i++) {
    backoff.lost(now);
    const plan = backoff.next(now);
    assert.ok(plan.retry);
    result.push(plan.delay);
  }
  return result;
}

describe('fullJitterDelay', () => {
  it('is random() times min(maxDelay, initialDelay * 2^(attempt-1))', () => {
    const top = () => 1;
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map((a) => fullJitterDelay(a, options, top)), [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
    assert.equal(fullJitterDelay(3, options, () => 0.25), 1000);
    assert.equal(fullJitterDelay(1, options, () => 0), 0);
  });

  it('stays capped for huge attempt numbers', () => {
    assert.equal(fullJitterDelay(5000, options, () => 1), 30_000);
  });
});

describe('Backoff', () => {
  it('counts attempts and doubles the ceiling up to maxDelay', () => {
    const backoff = new Backoff(options, () => 0.5);
    assert.deepEqual(delays(backoff, 8), [500, 1000, 2000, 4000, 8000, 15_000, 15_000, 15_000]);
    assert.equal(backoff.attempt, 8);
  });

  it('respects a custom initialDelay and maxDelay', () => {
    const backoff = new Backoff({ ...options, initialDelay: 100, maxDelay: 350 }, () => 1);
    assert.deepEqual(delays(backoff, 4), [100, 200, 350, 350]);
  });

  it('adds the server retryAfter on top of the jittered delay', () => {
    const backoff = new Backoff(options, () => 0.5);
    backoff.lost(0);
    assert.deepEqual(backoff.next(0, { retryAfter: 5000 }), { retry: true, attempt: 1, delay: 5500 });
  });

  it('retries a dead link immediately, but still counts the attempt', () => {
    const backoff = new Backoff(options, () => 0.5);
    backoff.lost(0);
    assert.deepEqual(backoff.next(0, { immediate: true }), { retry: true, attempt: 1, delay: 0 });
    backoff.lost(0);
    assert.deepEqual(backoff.next(0), { retry: true, attempt: 2, delay: 1000 });
  });

  it('gives up after maxAttempts', () => {
    const backoff = new Backoff({ ...options, maxAttempts: 3 }, () => 0.5);
    assert.equal(delays(backoff, 3).length, 3);
    backoff.lost(0);
    const plan = backoff.next(0);
    assert.equal(plan.retry, false);
    assert.match(!plan.retry ? plan.reason : '', /3 reconnect attempts/);
  });

  it('maxAttempts 0 never retries', () => {
    const backoff = new Backoff({ ...options, maxAttempts: 0 }, () => 0.5);
    backoff.lost(0);
    assert.equal(backoff.next(0).retry, false);
  });

  it('gives up once maxElapsed ms have passed since the loss', () => {
    const backoff = new Backoff({ ...options, maxElapsed: 10_000 }, () => 0.5);
    backoff.lost(1000);
    assert.equal(backoff.next(1000).retry, true);
    backoff.lost(6000);
    assert.equal(backoff.next(6000).retry, true);
    assert.equal(backoff.lostAt, 1000, 'the series started at the first loss');
    backoff.lost(11_000);
    const plan = backoff.next(11_000);
    assert.equal(plan.retry, false);
    assert.match(!plan.retry ? plan.reason : '', /10000 ms/);
  });

  it('resets after resetAfter ms of stable connection', () => {
    const backoff = new Backoff(options, () => 0.5);
    delays(backoff, 4, 0);
    backoff.connected(100);
    backoff.lost(5100);
    assert.deepEqual(backoff.next(5100), { retry: true, attempt: 1, delay: 500 });
    assert.equal(backoff.lostAt, 5100);
  });

  it('does not reset when the connection dropped sooner than resetAfter', () => {
    const backoff = new Backoff(options, () => 0.5);
    delays(backoff, 4, 0);
    backoff.connected(100);
    backoff.lost(5099);
    assert.deepEqual(backoff.next(5099), { retry: true, attempt: 5, delay: 8000 });
    assert.equal(backoff.lostAt, 0, 'still the same series');
  });

  it('a failed attempt that never connected keeps the series going', () => {
    const backoff = new Backoff(options, () => 0.5);
    delays(backoff, 2, 0);
    backoff.lost(60_000);
    assert.equal(backoff.next(60_000).retry && backoff.attempt, 3);
  });
});
