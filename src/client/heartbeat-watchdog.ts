import type { Clock, TimerHandle } from '../protocol/clock.js';

/**
 * Detects a dead link: a half-open TCP connection or a dropped NAT entry never fires `close`, so
 * silence is the only symptom. Every server frame counts as liveness (PROTOCOL.md, Heartbeat).
 *
 * Frames can arrive thousands of times a second, so `touch()` only records the time; one timer
 * checks the record when it fires and re-arms itself for whatever silence budget is left.
 */
export class HeartbeatWatchdog {
  private timer: TimerHandle | undefined;
  private lastReceived = 0;
  private timeout = 0;

  constructor(
    private readonly clock: Clock,
    private readonly onDead: () => void,
  ) {}

  get running(): boolean {
    return this.timer !== undefined;
  }

  /**
   * Starts watching a connection. `timeout` is the server's heartbeat interval plus the client's
   * grace: the server pings after `interval` of its own silence, so a live link is never quieter.
   */
  start(timeout: number): void {
    this.stop();
    this.timeout = timeout;
    this.lastReceived = this.clock.now();
    this.arm(timeout);
  }

  /** A frame arrived. Cheap on purpose: no timer is touched. */
  touch(): void {
    this.lastReceived = this.clock.now();
  }

  stop(): void {
    if (this.timer === undefined) return;
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(ms: number): void {
    this.timer = this.clock.setTimeout(() => this.check(), ms);
  }

  private check(): void {
    this.timer = undefined;
    const silence = this.clock.now() - this.lastReceived;
    if (silence >= this.timeout) {
      this.onDead();
      return;
    }
    this.arm(this.timeout - silence);
  }
}
