/**
 * Time, injected. Backoff, heartbeats and ack batching take a Clock so tests run them with fake
 * time instead of waiting.
 */
export type TimerHandle = unknown;

export interface Clock {
  now(): number;
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
  setInterval(callback: () => void, ms: number): TimerHandle;
  clearInterval(handle: TimerHandle): void;
  /**
   * Runs `callback` once the current turn's work is done (the server batches a turn's appends and
   * session saves this way). Optional: without it, the server uses `setImmediate`; a fake clock
   * implements it so that tests step turns deterministically.
   */
  defer?(callback: () => void): void;
}

/**
 * The real clock. Timers stay referenced: a Node client waiting out its reconnect delay must keep
 * the process alive, exactly like an open socket does.
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
  setInterval: (callback, ms) => globalThis.setInterval(callback, ms),
  clearInterval: (handle) => globalThis.clearInterval(handle as ReturnType<typeof setInterval>),
  defer: nextTurn,
};

/** The event loop's next turn: `setImmediate` in Node, a zero timeout where it does not exist (browsers). */
function nextTurn(callback: () => void): void {
  if (typeof setImmediate === 'function') setImmediate(callback);
  else globalThis.setTimeout(callback, 0);
}

/** `clock.defer`, or the event loop's next turn for a clock without it. */
export function deferOf(clock: Clock): (callback: () => void) => void {
  const { defer } = clock;
  return defer === undefined ? nextTurn : (callback) => defer.call(clock, callback);
}
