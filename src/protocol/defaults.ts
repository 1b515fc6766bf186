import type { HeartbeatSettings } from './frames.js';

/**
 * The defaults both sides of the protocol (and the stores) must agree on, defined once: the server's
 * options, the client's options and the stores take them from here, and PROTOCOL.md's Defaults table
 * states them (test/protocol/protocol-doc.test.ts holds the two together). Keys are the names of
 * the options that change them.
 */
export interface ProtocolDefaults {
  /**
   * ms a reliable frame's `id` is remembered, so a resend is not processed twice. The client keeps
   * stored publishes no longer than this (`outboxMaxAge`); a store remembers an id this long when
   * the server does not say otherwise.
   */
  readonly dedupWindow: number;
  /** Largest `data`, in UTF-8 bytes of its JSON. The client checks against it until `welcome` says. */
  readonly maxPayload: number;
  /** How deeply `data` may nest arrays and objects. The client checks against it until `welcome` says. */
  readonly maxDepth: number;
  /** The server's ping interval and timeout; the client uses the interval when `welcome` lacks one. */
  readonly heartbeat: Readonly<HeartbeatSettings>;
  /** ms an acknowledgement may wait to be batched with others, in either direction. */
  readonly ackDelay: number;
  /** Acknowledgements owed that are sent at once, without waiting for `ackDelay`. */
  readonly ackBatch: number;
}

export const PROTOCOL_DEFAULTS: ProtocolDefaults = Object.freeze({
  dedupWindow: 10 * 60 * 1000,
  maxPayload: 1024 * 1024,
  maxDepth: 64,
  heartbeat: Object.freeze({ interval: 25_000, timeout: 20_000 }),
  ackDelay: 50,
  ackBatch: 100,
});
