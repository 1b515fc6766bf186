/**
 * Every frame of the Holdfast protocol, version 1, exactly as PROTOCOL.md describes it.
 * A frame not listed here does not exist.
 */

export const PROTOCOL_VERSION = 1;

/** Delivery mode of a topic, chosen by the server. */
export type TopicMode = 'reliable' | 'latest' | 'volatile';

// ---- client to server ----

export interface HelloFrame {
  type: 'hello';
  v: number;
  auth?: unknown;
  resume?: { session: string; token: string };
}

export interface SubFrame {
  type: 'sub';
  topic: string;
  epoch?: string;
  offset?: number;
  from?: 'now' | 'start';
}

export interface UnsubFrame {
  type: 'unsub';
  topic: string;
}

export interface PubFrame {
  type: 'pub';
  topic: string;
  data: unknown;
  key?: string;
  /** Present together with `id` on a reliable publish. */
  seq?: number;
  id?: string;
}

export interface ReqFrame {
  type: 'req';
  seq: number;
  id: string;
  method: string;
  data: unknown;
}

export interface ClientAckFrame {
  type: 'ack';
  offsets?: Record<string, number>;
  replies?: number[];
}

export interface PingFrame {
  type: 'ping';
}

export interface PongFrame {
  type: 'pong';
}

export type ClientFrame =
  | HelloFrame
  | SubFrame
  | UnsubFrame
  | PubFrame
  | ReqFrame
  | ClientAckFrame
  | PingFrame
  | PongFrame;

// ---- server to client ----

export interface HeartbeatSettings {
  /** ms of outbound silence after which the server pings. */
  interval: number;
  /** ms added to `interval` before the server gives up on a silent client. */
  timeout: number;
}

export interface ServerLimits {
  maxPayload: number;
  /** How deeply `data` may nest arrays and objects. */
  maxDepth: number;
  maxSubscriptions: number;
  maxInFlight: number;
}

export interface WelcomeFrame {
  type: 'welcome';
  v: number;
  session: string;
  token: string;
  resumed: boolean;
  heartbeat: HeartbeatSettings;
  limits: ServerLimits;
}

export interface SubscribedFrame {
  type: 'subscribed';
  topic: string;
  mode: TopicMode;
  /** The stream's epoch ('' for volatile topics). */
  epoch: string;
  /** The subscription continues after this offset. */
  offset: number;
  /** The client asked to continue from a position. */
  recovering: boolean;
  /** Every message after that position will be delivered. */
  recovered: boolean;
  /** The topic's current state, when recovery was impossible and the topic has a snapshot hook. */
  snapshot?: unknown;
}

export interface UnsubscribedFrame {
  type: 'unsubscribed';
  topic: string;
}

export interface MsgFrame {
  type: 'msg';
  topic: string;
  data: unknown;
  offset?: number;
  key?: string;
}

export interface ServerAckFrame {
  type: 'ack';
  seq: number;
}

export interface ErrorBody {
  code: string;
  message: string;
}

export type ReplyFrame =
  | { type: 'reply'; seq: number; ok: true; data: unknown }
  | { type: 'reply'; seq: number; ok: false; error: ErrorBody };

export interface ErrorFrame {
  type: 'error';
  code: string;
  message: string;
  topic?: string;
  /** With `topic`: the kind of frame refused, a `sub` or a fire-and-forget `pub`. */
  for?: 'sub' | 'pub';
  retryAfter?: number;
}

export type ServerFrame =
  | WelcomeFrame
  | SubscribedFrame
  | UnsubscribedFrame
  | MsgFrame
  | ServerAckFrame
  | ReplyFrame
  | ErrorFrame
  | PingFrame
  | PongFrame;

/** Topic names: 1–256 characters, none of them forbidden (PROTOCOL.md, Concepts). */
export const MAX_TOPIC_LENGTH = 256;
/** Bound on `key`, `method` and `id`, which the server keeps in memory and in stores. */
export const MAX_NAME_LENGTH = 256;
/**
 * Characters a topic name may not hold: C0 and C1 controls and DEL; the bidirectional formatting
 * marks, which make a name display as another (`chat:\u202Enimda` shows as `chat:admin`); line and
 * paragraph separators and the byte-order mark, which break logs and lines; and lone surrogates,
 * which are not Unicode text and would not survive a round trip through UTF-8 (a store).
 */
// eslint-disable-next-line no-control-regex
const FORBIDDEN_IN_TOPIC = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export function isValidTopic(topic: unknown): topic is string {
  return (
    typeof topic === 'string' &&
    topic.length > 0 &&
    topic.length <= MAX_TOPIC_LENGTH &&
    !FORBIDDEN_IN_TOPIC.test(topic)
  );
}
