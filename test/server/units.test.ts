import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AckScheduler } from '../../src/server/ack-scheduler.js';
import { InboundLedger } from '../../src/server/inbound-ledger.js';
import { RateLimiter } from '../../src/server/rate-limiter.js';
import { hashToken, randomId, tokenMatches } from '../../src/server/tokens.js';
import { TopicDirectory } from '../../src/server/topics.js';
import { FakeClock } from '../support/fake-clock.js';

describe('InboundLedger', () => {
  it('advances lastSeq cumulatively, holding out-of-order completions until the gap fills', () => {
    const ledger = new InboundLedger();
    for (const seq of [1, 2, 3, 4]) ledger.begin(seq);
    assert.equal(ledger.complete(1), true);
    assert.equal(ledger.complete(3), false);
    assert.equal(ledger.lastSeq, 1);
    assert.equal(ledger.status(3), 'done');
    assert.equal(ledger.status(2), 'pending');
    assert.equal(ledger.complete(2), true);
    assert.equal(ledger.lastSeq, 3);
    assert.equal(ledger.status(4), 'pending');
    assert.equal(ledger.status(5), 'new');
  });

  it('keeps replies until confirmed, and survives a round trip through its record fields', () => {
    const ledger = new InboundLedger();
    ledger.begin(1);
    ledger.begin(2);
    ledger.complete(2, { seq: 2, ok: true, data: 'two' });
    const copy = new InboundLedger(ledger.lastSeq, ledger.doneAboveList(), [...ledger.replies.values()]);
    assert.equal(copy.status(2), 'done');
    assert.equal(copy.status(1), 'new', 'work in progress is not persisted: a resend is processed');
    assert.deepEqual(copy.replies.get(2), { seq: 2, ok: true, data: 'two' });
    copy.confirmReplies([2]);
    assert.equal(copy.replies.size, 0);
  });
});

describe('RateLimiter', () => {
  it('allows a burst, then refills at the rate', () => {
    const limiter = new RateLimiter(10, 5, 0);
    for (let i = 0; i < 5; i++) assert.equal(limiter.take(0), 0);
    assert.equal(limiter.take(0), 100, 'one token short at 10/s: 100 ms');
    assert.equal(limiter.take(1000), 0, 'a second later the bucket is full again');
  });
});

describe('tokens', () => {
  it('makes 128-bit random ids and matches tokens only against their own hash', () => {
    const token = randomId();
    assert.equal(Buffer.from(token, 'base64url').length, 16);
    assert.notEqual(randomId(), randomId());
    assert.ok(tokenMatches(token, hashToken(token)));
    assert.equal(tokenMatches(randomId(), hashToken(token)), false);
    assert.equal(tokenMatches(token, 'not-hex'), false);
  });
});

describe('TopicDirectory', () => {
  it('serves every topic as reliable when no table is given', () => {
    assert.equal(new TopicDirectory(undefined).resolve('anything')?.mode, 'reliable');
  });

  it('prefers exact names, then the longest prefix; unmatched topics are unknown', () => {
    const topics = new TopicDirectory({
      'chat:*': { mode: 'reliable' },
      'chat:fast:*': { mode: 'volatile' },
      prices: { mode: 'latest', retention: { maxCount: 5 } },
    });
    assert.equal(topics.resolve('chat:a')?.mode, 'reliable');
    assert.equal(topics.resolve('chat:fast:x')?.mode, 'volatile');
    assert.equal(topics.resolve('prices')?.retention.maxCount, 5);
    assert.equal(topics.resolve('prices')?.retention.maxAgeMs, 86_400_000, 'unset retention fields keep their defaults');
    assert.equal(topics.resolve('other'), undefined);
  });
});

describe('AckScheduler', () => {
  it('flushes at the batch size at once, otherwise after the delay, with one timer for all targets', () => {
    const clock = new FakeClock();
    const scheduler = new AckScheduler(clock, 50, 3);
    const flushed: string[] = [];
    const a = { flushAck: () => flushed.push('a') };
    const b = { flushAck: () => flushed.push('b') };
    scheduler.note(a);
    scheduler.note(b);
    scheduler.note(a);
    assert.equal(clock.pending, 1, 'one timer, not one per target');
    scheduler.note(a);
    assert.deepEqual(flushed, ['a'], 'third frame of a reaches the batch size');
    clock.advance(49);
    assert.deepEqual(flushed, ['a']);
    clock.advance(1);
    assert.deepEqual(flushed, ['a', 'b']);
    assert.equal(clock.pending, 0);
  });
});
