import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AckBatcher } from '../../src/client/ack-batcher.js';
import type { ClientAckFrame } from '../../src/protocol/frames.js';
import { FakeClock } from '../support/fake-clock.js';

function setup(batch = 100, delay = 50) {
  const clock = new FakeClock();
  const sent: ClientAckFrame[] = [];
  let open = true;
  const batcher = new AckBatcher(clock, { delay, batch }, (frame) => {
    if (!open) return false;
    sent.push(frame);
    return true;
  });
  return { clock, sent, batcher, setOpen: (value: boolean) => (open = value) };
}

describe('AckBatcher', () => {
  it('flushes after the delay, with the highest offset per topic', () => {
    const { clock, sent, batcher } = setup();
    batcher.offset('a', 1);
    batcher.offset('a', 2);
    batcher.offset('b', 7);
    batcher.offset('a', 3);
    clock.advance(49);
    assert.equal(sent.length, 0);
    clock.advance(1);
    assert.deepEqual(sent, [{ type: 'ack', offsets: { a: 3, b: 7 } }]);
  });

  it('uses one timer for the whole batch', () => {
    const { clock, batcher } = setup();
    for (let i = 1; i <= 50; i++) batcher.offset('a', i);
    assert.equal(clock.pending, 1);
  });

  it('flushes at once when `batch` items are pending', () => {
    const { clock, sent, batcher } = setup(3);
    batcher.offset('a', 1);
    batcher.reply(4);
    assert.equal(sent.length, 0);
    batcher.offset('a', 2);
    assert.deepEqual(sent, [{ type: 'ack', offsets: { a: 2 }, replies: [4] }]);
    assert.equal(clock.pending, 0, 'the delay timer is cancelled');
    clock.advance(100);
    assert.equal(sent.length, 1);
  });

  it('lists reply seqs once each, without offsets when there are none', () => {
    const { clock, sent, batcher } = setup();
    batcher.reply(1);
    batcher.reply(2);
    batcher.reply(1);
    clock.advance(50);
    assert.deepEqual(sent, [{ type: 'ack', replies: [1, 2] }]);
  });

  it('never lowers an offset', () => {
    const { clock, sent, batcher } = setup();
    batcher.offset('a', 5);
    batcher.offset('a', 3);
    clock.advance(50);
    assert.deepEqual(sent[0]?.offsets, { a: 5 });
  });

  it('skips the flush when not open and keeps the items', () => {
    const { clock, sent, batcher, setOpen } = setup();
    setOpen(false);
    batcher.reply(9);
    clock.advance(50);
    assert.equal(sent.length, 0);
    assert.equal(clock.pending, 0);
    setOpen(true);
    batcher.flush();
    assert.deepEqual(sent, [{ type: 'ack', replies: [9] }]);
  });

  it('sends nothing when nothing is pending', () => {
    const { sent, batcher } = setup();
    batcher.flush();
    assert.equal(sent.length, 0);
  });

  it('dropOffsets keeps replies; dropReplies keeps offsets', () => {
    const { clock, sent, batcher } = setup();
    batcher.offset('a', 1);
    batcher.reply(2);
    batcher.dropOffsets();
    clock.advance(50);
    assert.deepEqual(sent, [{ type: 'ack', replies: [2] }]);
    batcher.offset('a', 2);
    batcher.reply(3);
    batcher.dropReplies();
    clock.advance(50);
    assert.deepEqual(sent[1], { type: 'ack', offsets: { a: 2 } });
  });

  it('dispose() drops everything and the timer', () => {
    const { clock, sent, batcher } = setup();
    batcher.offset('a', 1);
    batcher.dispose();
    assert.equal(clock.pending, 0);
    clock.advance(100);
    assert.equal(sent.length, 0);
  });
});
