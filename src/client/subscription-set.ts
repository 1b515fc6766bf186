import type { Clock, TimerHandle } from '../protocol/clock.js';
import { ErrorCode } from '../protocol/codes.js';
import { HoldfastError } from '../protocol/errors.js';
import type {
  ErrorFrame,
  MsgFrame,
  SubFrame,
  SubscribedFrame,
  UnsubFrame,
  UnsubscribedFrame,
} from '../protocol/frames.js';
import type { MessageListener, SubscribeOptions } from './events.js';
import { Subscription } from './subscription.js';

/** What the subscriptions need from the client. */
export interface SubscriptionLink {
  /** Writes a frame on the welcomed connection; false when there is none (sent after the next welcome). */
  send(frame: SubFrame | UnsubFrame): boolean;
  /** `offset` of `topic` was handed to the application. */
  ack(topic: string, offset: number): void;
  reportError(error: HoldfastError): void;
}

/** ms before a `sub` refused for STORE_UNAVAILABLE is sent again (a server may say otherwise in `retryAfter`). */
export const SUB_RETRY_DELAY = 1000;

/**
 * The client's subscriptions, one per topic, and the routing of topic frames to them.
 *
 * Unsubscribing and subscribing again to a topic on one connection leaves the server's answers to
 * the old `sub` (its `subscribed`, its messages) in flight ahead of the `unsubscribed`. The server
 * answers in order, so until that `unsubscribed` arrives, every frame of the topic belongs to the
 * old subscription and is dropped.
 */
export class SubscriptionSet {
  private readonly byTopic = new Map<string, Subscription>();
  /** Per topic: `unsub` frames sent on this connection and not answered yet. */
  private readonly unsubscribing = new Map<string, number>();
  /** `sub`s refused for a passing reason (STORE_UNAVAILABLE), to send again on this connection. */
  private readonly retries = new Map<Subscription, TimerHandle>();

  constructor(
    private readonly link: SubscriptionLink,
    private readonly clock: Clock,
  ) {}

  get(topic: string): Subscription | undefined {
    return this.byTopic.get(topic);
  }

  get size(): number {
    return this.byTopic.size;
  }

  /** The existing subscription of the topic (with the listener added), or a new one. */
  subscribe(topic: string, onMessage: MessageListener | undefined, options: SubscribeOptions): Subscription {
    let subscription = this.byTopic.get(topic);
    if (subscription === undefined) {
      subscription = new Subscription(topic, options, {
        unsubscribe: (s) => this.remove(s),
        reportError: (error) => this.link.reportError(error),
      });
      this.byTopic.set(topic, subscription);
      this.sendSub(subscription);
    }
    if (onMessage !== undefined) subscription.on('message', onMessage);
    return subscription;
  }

  /**
   * A subscription that failed before it began (client closed, invalid topic name): returned so the
   * caller's code path stays the same, never registered nor sent.
   */
  stillborn(topic: string, options: SubscribeOptions, error: HoldfastError): Subscription {
    const subscription = new Subscription(topic, options, {
      unsubscribe: () => {},
      reportError: (e) => this.link.reportError(e),
    });
    subscription._closed(error, 'failed');
    return subscription;
  }

  /** A connection was welcomed: subscribe everything again, from positions where known. */
  restore(): void {
    this.unsubscribing.clear();
    this.cancelRetries();
    for (const subscription of this.byTopic.values()) this.sendSub(subscription);
  }

  disconnected(): void {
    this.unsubscribing.clear();
    this.cancelRetries(); // the next connection subscribes everything anyway
    for (const subscription of [...this.byTopic.values()]) subscription._disconnected();
  }

  onSubscribed(frame: SubscribedFrame): void {
    if (this.isUnsubscribing(frame.topic)) return;
    this.byTopic.get(frame.topic)?._subscribed(frame);
  }

  onMessage(frame: MsgFrame): void {
    if (this.isUnsubscribing(frame.topic)) return;
    const offset = this.byTopic.get(frame.topic)?._deliver(frame);
    // Acknowledged even when a listener threw: the message was handed over (no redelivery loop).
    if (offset !== undefined) this.link.ack(frame.topic, offset);
  }

  onUnsubscribed(frame: UnsubscribedFrame): void {
    const count = this.unsubscribing.get(frame.topic) ?? 0;
    if (count <= 1) this.unsubscribing.delete(frame.topic);
    else this.unsubscribing.set(frame.topic, count - 1);
  }

  /**
   * An `error` frame with a topic. It is a refusal of our `sub` when it says so (`for: 'sub'`) and
   * that `sub` waits for its answer; otherwise (a rejected fire-and-forget `pub`) the client reports it.
   * @returns whether the frame was taken as a refusal.
   */
  onTopicError(frame: ErrorFrame): boolean {
    if (frame.topic === undefined || frame.for !== 'sub' || this.isUnsubscribing(frame.topic)) return false;
    const subscription = this.byTopic.get(frame.topic);
    if (subscription === undefined || !subscription._awaiting) return false;
    if (frame.code === ErrorCode.StoreUnavailable) {
      // The server's store failed for a moment: the `sub` did not start and may be sent again
      // (PROTOCOL.md). Giving up here would leave the application subscribed to nothing, for good.
      subscription._deferred(new HoldfastError(frame.code, frame.message));
      this.retryLater(subscription, frame.retryAfter ?? SUB_RETRY_DELAY);
      return true;
    }
    this.byTopic.delete(frame.topic);
    subscription._refused(new HoldfastError(frame.code, frame.message));
    return true;
  }

  /** The client closed for good: every subscription ends, pending `ready`s reject with `error`. */
  closeAll(error: HoldfastError, state: 'unsubscribed' | 'failed'): void {
    const all = [...this.byTopic.values()];
    this.byTopic.clear();
    this.cancelRetries();
    this.unsubscribing.clear();
    for (const subscription of all) subscription._closed(error, state);
  }

  private sendSub(subscription: Subscription): void {
    if (this.link.send(subscription._subFrame())) subscription._sent();
  }

  private retryLater(subscription: Subscription, ms: number): void {
    this.cancelRetry(subscription);
    const timer = this.clock.setTimeout(() => {
      this.retries.delete(subscription);
      // Only while it is still this topic's subscription and its `sub` is unanswered on no connection.
      if (this.byTopic.get(subscription.topic) === subscription && subscription.state === 'subscribing' && !subscription._awaiting) this.sendSub(subscription);
    }, ms);
    this.retries.set(subscription, timer);
  }

  private cancelRetry(subscription: Subscription): void {
    const timer = this.retries.get(subscription);
    if (timer === undefined) return;
    this.clock.clearTimeout(timer);
    this.retries.delete(subscription);
  }

  private cancelRetries(): void {
    for (const timer of this.retries.values()) this.clock.clearTimeout(timer);
    this.retries.clear();
  }

  private remove(subscription: Subscription): void {
    if (this.byTopic.get(subscription.topic) !== subscription) return;
    this.byTopic.delete(subscription.topic);
    this.cancelRetry(subscription);
    // Not connected: nothing to undo, the next connection simply will not subscribe it.
    if (this.link.send({ type: 'unsub', topic: subscription.topic })) {
      this.unsubscribing.set(subscription.topic, (this.unsubscribing.get(subscription.topic) ?? 0) + 1);
    }
  }

  private isUnsubscribing(topic: string): boolean {
    return (this.unsubscribing.get(topic) ?? 0) > 0;
  }
}
