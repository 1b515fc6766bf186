import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AckScheduler } from '../../src/server/ack-scheduler.js';
import { MemoryStore } from '../../src/store/memory/index.js';
import { FakeClock } from '../support/fake-clock.js';
import { hubHarness } from '../support/hub-harness.js';

/**
 * Work that runs on a timer runs outside any caller that could catch what it throws: an exception
 * there would end the process and drop every connection (issue 10, item 1: "timer paths").
 */
describe('timer callbacks never throw out', () => {
  it('reports a sweep that throws through onError, and the next sweep runs', () => {
    // A store whose housekeeping throws instead of rejecting: the contract says it should reject,
    // but a third-party store that gets it wrong must not take the server down.
    class ThrowingStore extends MemoryStore {
      sweeps = 0;
      override sweep(): never {
        this.sweeps++;
        throw new Error('sweep exploded');
      }
    }
    const store = new ThrowingStore();
    const errors: unknown[] = [];
    const { hub, clock } = hubHarness({ store, onError: (error) => errors.push(error) });
    hub.open({ send() {}, close() {}, terminate() {}, bufferedAmount: 0 }); // starts the sweeper's timer
    clock.advance(1000); // the first sweep runs the store sweep (every 30th sweep, from the first)
    assert.equal(store.sweeps, 1);
    assert.match(String(errors[0]), /sweep exploded/);
    clock.advance(30_000);
    assert.equal(store.sweeps, 2, 'the sweeper kept running');
  });

  it('reports an ack flush that throws and still flushes the other connections', () => {
    const clock = new FakeClock();
    const errors: unknown[] = [];
    const scheduler = new AckScheduler(clock, 50, 100, (error) => errors.push(error));
    const flushed: string[] = [];
    scheduler.note({ flushAck: () => { throw new Error('socket gone'); } });
    scheduler.note({ flushAck: () => flushed.push('b') });
    clock.advance(50);
    assert.equal(errors.length, 1);
    assert.deepEqual(flushed, ['b']);
  });
});
