import type { HoldfastError } from '../protocol/errors.js';
import type { ClientState } from './events.js';
import type { HoldfastClient } from './client.js';
import type { Subscription } from './subscription.js';

/** What a connection indicator shows. A new object on every change; never mutated. */
export interface ConnectionStatus {
  readonly state: ClientState;
  /** The retry number of the current series (1 = first retry) while connecting again or waiting to. */
  readonly attempt: number | undefined;
  /** When the next attempt starts (`clock.now()` time, ms), while 'reconnecting': count down to it. */
  readonly retryAt: number | undefined;
  /** The close code and reason of the last lost connection, until the next open. */
  readonly lastClose: { readonly code: number; readonly reason: string } | undefined;
  /** Since the last open: whether the session continued (true) or a new one began (false). */
  readonly resumed: boolean | undefined;
  /**
   * Since the last open: whether every watched subscription got its missed history back (false
   * as soon as one did not). Undefined until all of them said, or when none are watched.
   */
  readonly recovered: boolean | undefined;
  /** Whether the client has been open at least once (a loss then means "reconnecting"). */
  readonly everOpen: boolean;
  /** In 'closed': why the client stopped for good. */
  readonly error: HoldfastError | undefined;
}

export interface ConnectionStatusOptions {
  /** Subscriptions whose recovery `recovered` sums up (the chat whose history matters, say). */
  subscriptions?: Subscription[];
}

/**
 * An observable store of the client's connection status, for any UI: `subscribe` calls the
 * listener at once with the current status and again on every change (the contract of Svelte
 * stores, and what React's useSyncExternalStore and a Vue shallowRef need), and returns the
 * function that stops it. `getSnapshot` returns the same object until something changes.
 */
export interface ConnectionStatusStore {
  getSnapshot(): ConnectionStatus;
  subscribe(listener: (status: ConnectionStatus) => void): () => void;
  /** Stops following the client; listeners hear nothing more. */
  stop(): void;
}

export function connectionStatus(client: HoldfastClient, options: ConnectionStatusOptions = {}): ConnectionStatusStore {
  const watched = options.subscriptions ?? [];
  const listeners = new Set<(status: ConnectionStatus) => void>();
  let status: ConnectionStatus = Object.freeze({
    state: client.state,
    attempt: undefined,
    retryAt: undefined,
    lastClose: undefined,
    resumed: undefined,
    recovered: undefined,
    everOpen: client.state === 'open',
    error: undefined,
  });
  /** Watched subscriptions' `recovered` since the last open, by subscription. */
  let reports = new Map<Subscription, boolean>();

  const update = (change: Partial<ConnectionStatus>): void => {
    status = Object.freeze({ ...status, ...change });
    for (const listener of [...listeners]) listener(status);
  };

  const stops = [
    client.on('state', ({ newState, attempt, retryAt, code, reason, error }) => {
      const change: { -readonly [K in keyof ConnectionStatus]?: ConnectionStatus[K] } = { state: newState, retryAt };
      if (newState === 'open') change.attempt = undefined;
      else if (attempt !== undefined) change.attempt = attempt;
      if (code !== undefined) change.lastClose = { code, reason: reason ?? '' };
      if (newState === 'open') change.lastClose = undefined;
      if (newState === 'closed') change.error = error;
      update(change);
    }),
    client.on('open', ({ resumed }) => {
      reports = new Map();
      update({ resumed, recovered: undefined, everOpen: true });
    }),
    ...watched.map((subscription) =>
      subscription.on('subscribed', ({ recovered }) => {
        reports.set(subscription, recovered);
        const values = watched.map((watchedOne) => reports.get(watchedOne));
        // One `false` is already the answer; `true` needs every subscription's word.
        const summary = values.includes(false) ? false : values.every((value) => value === true) ? true : undefined;
        if (summary !== status.recovered) update({ recovered: summary });
      }),
    ),
  ];

  return {
    getSnapshot: () => status,
    subscribe(listener) {
      listeners.add(listener);
      listener(status);
      return () => listeners.delete(listener);
    },
    stop() {
      for (const stop of stops) stop();
      listeners.clear();
    },
  };
}
