import type { TopicMode } from '../protocol/index.js';

/**
 * What the hub reports as it works, for metrics. Dependency-free on purpose: the hub never loads a
 * metrics library; a binding (the standalone server's prom-client registry, say) implements this.
 * Every method is optional, and one that throws is reported to `onError`, never to the caller.
 */
export interface HubObserver {
  /** A connection was accepted (not one refused at once: shutting down, too many per address). */
  connectionOpened?(): void;
  /** An accepted connection closed: the close code the server sent, the peer's, or 1006 without one. */
  connectionClosed?(code: number): void;
  /** A client's `pub` to a known topic, reliable or fire-and-forget, was taken in for handling. */
  messageIn?(mode: TopicMode): void;
  /** `count` `msg` frames written to subscribers of a topic of this mode. */
  messageOut?(mode: TopicMode, count: number): void;
  /**
   * A subscription resumed from a position (`recovering: true`, a snapshot aside) with up to `size`
   * messages to send again: head minus position (an upper bound on a `latest` topic, whose offsets have gaps).
   */
  replay?(size: number): void;
  /** A subscriber that lost its position was sent the topic's snapshot instead of the messages it missed. */
  snapshotSent?(): void;
  /** A connection was dropped for not answering heartbeats. */
  heartbeatTimeout?(): void;
  /** An `ack` frame was sent: cumulative, so one may acknowledge many publishes (and requests). */
  ackSent?(): void;
  /** A reliable publish the store already held (same id within the de-duplication window): not stored again. */
  duplicateDropped?(): void;
  /** One store call took `ms` of wall time, failed or not (`append`: one group-commit batch). */
  storeOperation?(name: StoreOperation, ms: number): void;
}

/** The store calls timed: the appends on every reliable publish's path. */
export type StoreOperation = 'append';

/**
 * Both observers, each told everything (the standalone server's metrics and an application's own).
 * `second` is told even when `first` throws; what threw is thrown after, for `safeObserver` to report.
 */
export function bothObservers(first: HubObserver, second: HubObserver | undefined): HubObserver {
  if (second === undefined) return first;
  const both = <A extends unknown[]>(a: ((...args: A) => void) | undefined, b: ((...args: A) => void) | undefined) =>
    (...args: A): void => {
      try {
        a?.apply(first, args);
      } finally {
        b?.apply(second, args);
      }
    };
  return {
    connectionOpened: both(first.connectionOpened, second.connectionOpened),
    connectionClosed: both(first.connectionClosed, second.connectionClosed),
    messageIn: both(first.messageIn, second.messageIn),
    messageOut: both(first.messageOut, second.messageOut),
    ackSent: both(first.ackSent, second.ackSent),
    duplicateDropped: both(first.duplicateDropped, second.duplicateDropped),
    replay: both(first.replay, second.replay),
    snapshotSent: both(first.snapshotSent, second.snapshotSent),
    heartbeatTimeout: both(first.heartbeatTimeout, second.heartbeatTimeout),
    storeOperation: both(first.storeOperation, second.storeOperation),
  } satisfies SafeObserver; // every method: one added to HubObserver must be passed on here too
}

/** An observer whose every method exists and never throws (errors go to `onError`). */
export type SafeObserver = Required<HubObserver>;

export function safeObserver(observer: HubObserver | undefined, onError: (error: unknown) => void): SafeObserver {
  const call = <A extends unknown[]>(method: ((...args: A) => void) | undefined): ((...args: A) => void) => {
    if (method === undefined || observer === undefined) return () => undefined;
    return (...args: A) => {
      try {
        method.apply(observer, args);
      } catch (error) {
        onError(error);
      }
    };
  };
  return {
    connectionOpened: call(observer?.connectionOpened),
    connectionClosed: call(observer?.connectionClosed),
    messageIn: call(observer?.messageIn),
    messageOut: call(observer?.messageOut),
    heartbeatTimeout: call(observer?.heartbeatTimeout),
    replay: call(observer?.replay),
    snapshotSent: call(observer?.snapshotSent),
    ackSent: call(observer?.ackSent),
    duplicateDropped: call(observer?.duplicateDropped),
    storeOperation: call(observer?.storeOperation),
  };
}
