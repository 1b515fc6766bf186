/**
 * `holdfast/client`: the browser and Node client. No runtime dependencies and no Node built-ins;
 * pass a WebSocket implementation in Node (`ws`).
 */
export { HoldfastClient } from './client.js';
export { Subscription } from './subscription.js';
export type { ClientOptions, ReconnectOptions } from './options.js';
export { DEFAULTS } from './options.js';
export type {
  ClientEvents,
  ClientState,
  MessageListener,
  MessageMeta,
  PublishOptions,
  RequestOptions,
  StateChange,
  StreamPosition,
  SubscribeOptions,
  SubscribedInfo,
  SubscriptionState,
  SubscriptionStateChange,
} from './events.js';
export type { ClientEnvironment } from './environment.js';
export type { OutboxStorage, StoredPublish } from './outbox-storage.js';
export { indexedDbOutbox, type IndexedDbOutbox, type IndexedDbOutboxOptions } from './indexeddb-outbox.js';
export { connectionStatus, type ConnectionStatus, type ConnectionStatusOptions, type ConnectionStatusStore } from './connection-status.js';
export { alwaysOnline, detectEnvironment } from './environment.js';
export type { WebSocketConstructor, WebSocketLike } from './socket.js';
// Re-exported so an application needs one import to handle errors and to write a fake clock.
export { HoldfastError, isHoldfastError } from '../protocol/errors.js';
export { CloseCode, ErrorCode } from '../protocol/codes.js';
export type { Clock, TimerHandle } from '../protocol/clock.js';
export type { TopicMode } from '../protocol/frames.js';
