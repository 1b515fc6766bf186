import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HeartbeatWatchdog } from '../../src/client/heartbeat-watchdog.js';
import { FakeClock } from '../support/fake-clock.js';

describe('HeartbeatWatchdog', () => {
  it('declares the link dead after `timeout` ms of silence', () => {
    const clock = new FakeClock();
    let dead = 0;
    const watchdog = new HeartbeatWatchdog(clock, () => dead++);
    watchdog.start(35_000);
    clock.advance(34_999);
    assert.equal(dead, 0);
    clock.advance(1);
    assert.equal(dead, 1);
    assert.equal(watchdog.running, false);
  });

  it('any touch extends the deadline, without creating timers', () => {
    const clock = new FakeClock();
    let dead = 0;
    const watchdog = new HeartbeatWatchdog(clock, () => dead++);
    watchdog.start(10_000);
    for (let i = 0; i < 100; i++) {
      clock.advance(100);
      watchdog.touch();
    }
    assert.equal(clock.pending, 1, 'one timer, whatever the number of frames');
    // 10 s passed in total, but the last frame was just now
    clock.advance(9_999);
    assert.equal(dead, 0);
    assert.equal(clock.pending, 1, 're-armed for the remaining time');
    clock.advance(1);
    assert.equal(dead, 1);
  });

  it('re-arms for exactly the remaining silence budget', () => {
    const clock = new FakeClock();
    const watchdog = new HeartbeatWatchdog(clock, () => {});
    watchdog.start(10_000);
    clock.advance(4000);
    watchdog.touch();
    clock.advance(6000); // first check: 6 s of silence, 4 s left
    assert.deepEqual(clock.pendingDelays, [4000]);
  });

  it('stop() cancels the timer; start() replaces it', () => {
    const clock = new FakeClock();
    let dead = 0;
    const watchdog = new HeartbeatWatchdog(clock, () => dead++);
    watchdog.start(1000);
    watchdog.start(2000);
    assert.equal(clock.pending, 1);
    watchdog.stop();
    assert.equal(clock.pending, 0);
    clock.advance(5000);
    assert.equal(dead, 0);
  });
});
