import type { HoldfastError } from '../protocol/errors.js';
import type { SubscribedFrame } from '../protocol/frames.js';

/**
 * - `idle`: created, `connect()` not called yet.
 * - `connecting`: opening a socket and waiting for `welcome`.
 * - `open`: welcomed; frames flow.
 * - `reconnecting`: the connection was lost; a retry is scheduled (see `attempt`, `retryAt`).
 * - `offline`: the connection was lost while the host is offline; waiting for its `online` event.
 * - `closed`: final. `close()` was called, the server refused the client for good, or the reconnect
 *   limits were reached.
 */
export type ClientState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'offline' | 'closed';

/** Payload of the `state` event: every transition, with what the UI needs to explain it. */
export interface StateChange {
  oldState: ClientState;
  newState: ClientState;
  /** Retry number in the current series of failures (`connecting`, `reconnecting`). */
  attempt?: number;
  /** ms until the retry (`reconnecting`). */
  delay?: number;
  /** Clock time of the retry (`reconnecting`). */
  retryAt?: number;
  /** Close code of the connection that ended (`reconnecting`, `offline`, `closed`). */
  code?: number;
  reason?: string;
  /** Set on `closed`: the client will not reconnect by itself. */
  final?: boolean;
  /** Set on `closed`: the error pending operations were rejected with. */
  error?: HoldfastError;
}

export interface ClientEvents {
  state: StateChange;
  /** A connection was welcomed. `resumed`: the previous session continued. */
  open: { session: string; resumed: boolean };
  /** An open connection ended. Not emitted for attempts that never reached `open`. */
  disconnect: { code: number; reason: string; willReconnect: boolean };
  /**
   * Server `error` frames not tied to a subscription (RATE_LIMITED, UNKNOWN_FRAME_TYPE, a rejected
   * fire-and-forget publish…), invalid server frames, and exceptions thrown by application
   * listeners (code HANDLER_ERROR, the exception as `cause`).
   */
  error: HoldfastError;
}

export interface MessageMeta {
  topic: string;
  /** Absent for `volatile` topics. */
  offset?: number;
  key?: string;
}

/** Where a subscription stands in a stream: the last offset handed to the application. */
export interface StreamPosition {
  readonly epoch: string;
  readonly offset: number;
}

/**
 * Payload of a subscription's `subscribed` event and value of its `ready` promise: the `subscribed`
 * frame's fields (PROTOCOL.md). `recovered: false` means history after the position is gone; look
 * at `snapshot`.
 */
export interface SubscribedInfo extends Omit<SubscribedFrame, 'type' | 'topic'> {
  /** False for the first `subscribed` of this Subscription, true after a reconnect. */
  resubscribe: boolean;
}

export type SubscriptionState = 'subscribing' | 'subscribed' | 'unsubscribed' | 'failed';

export interface SubscriptionStateChange {
  oldState: SubscriptionState;
  newState: SubscriptionState;
}

export type MessageListener = (data: unknown, meta: MessageMeta) => void;

export interface SubscribeOptions {
  /**
   * Where to start when there is no position: 'now' (only new messages) or 'start' (everything
   * retained).
   * @default the server's default: 'now' for reliable topics, 'start' for latest topics
   */
  from?: 'now' | 'start';
  /**
   * Continue after this position (saved from an earlier `subscription.position`), e.g. after a page
   * reload. Takes precedence over `from`.
   * @default undefined
   */
  position?: StreamPosition;
}

export interface PublishOptions {
  /**
   * The key of this value on a `latest` topic.
   * @default undefined (the server uses "")
   */
  key?: string;
  /**
   * true: numbered, kept in the outbox and resent until the server acknowledges it.
   * false: fire-and-forget; written only if the client is open at that moment, and may be lost.
   * @default true
   */
  reliable?: boolean;
}

export interface RequestOptions {
  /**
   * ms to wait for the reply before rejecting with REQUEST_TIMEOUT. 0 or Infinity: wait forever.
   * @default the client's `requestTimeout` (30000)
   */
  timeout?: number;
}
