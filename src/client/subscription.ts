import { ErrorCode } from '../protocol/codes.js';
import { HoldfastError } from '../protocol/errors.js';
import type { MsgFrame, SubFrame, SubscribedFrame, TopicMode } from '../protocol/frames.js';
import { Emitter, describeError } from './emitter.js';
import type {
  MessageListener,
  MessageMeta,
  StreamPosition,
  SubscribeOptions,
  SubscribedInfo,
  SubscriptionState,
  SubscriptionStateChange,
} from './events.js';

type SubscriptionEvents = {
  message: Parameters<MessageListener>;
  subscribed: [SubscribedInfo];
  error: [HoldfastError];
  state: [SubscriptionStateChange];
};

/** @internal How a Subscription reaches the client that owns it. */
export interface SubscriptionHost {
  unsubscribe(subscription: Subscription): void;
  /** Exceptions of application listeners, wrapped as HANDLER_ERROR. */
  reportError(error: HoldfastError): void;
}

/**
 * One topic the application listens to. It outlives connections: after a reconnect the client
 * subscribes again from `position`, and the position drops every message already handed over, so
 * the application sees each offset once and in order.
 *
 * Methods starting with `_` are driven by the client and are not part of the public API.
 */
export class Subscription {
  readonly topic: string;
  /**
   * Resolves on the first `subscribed`; rejects on a refusal, or when closed or unsubscribed before
   * it. A refusal for STORE_UNAVAILABLE is not final: the `sub` is sent again, and `ready` waits.
   */
  readonly ready: Promise<SubscribedInfo>;

  private current: SubscriptionState = 'subscribing';
  private currentMode: TopicMode | undefined;
  private currentPosition: StreamPosition | undefined;
  private lastRecovered: boolean | undefined;
  private readonly from: 'now' | 'start' | undefined;
  private confirmed = false;
  /** `sub` sent on the current connection and not answered yet. */
  private awaiting = false;
  /** `subscribed` received on the current connection: its messages may be delivered. */
  private live = false;
  private settleReady: { resolve(info: SubscribedInfo): void; reject(error: HoldfastError): void } | undefined;
  private readonly events: Emitter<SubscriptionEvents>;

  /** @internal Created by `HoldfastClient.subscribe`. */
  constructor(topic: string, options: SubscribeOptions, private readonly host: SubscriptionHost) {
    this.topic = topic;
    this.from = options.from;
    this.currentPosition = options.position === undefined ? undefined : { ...options.position };
    this.ready = new Promise<SubscribedInfo>((resolve, reject) => {
      this.settleReady = { resolve, reject };
    });
    // Nobody has to await `ready`: an unobserved rejection must not crash the process.
    this.ready.catch(() => {});
    this.events = new Emitter<SubscriptionEvents>((error, event) =>
      host.reportError(
        new HoldfastError(ErrorCode.HandlerError, `a '${String(event)}' listener of "${topic}" threw: ${describeError(error)}`, {
          cause: error,
        }),
      ),
    );
  }

  get state(): SubscriptionState {
    return this.current;
  }

  get mode(): TopicMode | undefined {
    return this.currentMode;
  }

  /** The last offset handed to the application (save it to resume after a reload). */
  get position(): StreamPosition | undefined {
    return this.currentPosition;
  }

  /** `recovered` of the last `subscribed`. */
  get recovered(): boolean | undefined {
    return this.lastRecovered;
  }

  on(event: 'message', listener: MessageListener): () => void;
  on(event: 'subscribed', listener: (info: SubscribedInfo) => void): () => void;
  on(event: 'error', listener: (error: HoldfastError) => void): () => void;
  on(event: 'state', listener: (change: SubscriptionStateChange) => void): () => void;
  on(event: keyof SubscriptionEvents, listener: (...args: never[]) => void): () => void {
    return this.events.on(event, listener as (...args: unknown[]) => void);
  }

  /** Stops delivery at once and tells the server. Final for this object; subscribe again for a new one. */
  unsubscribe(): void {
    if (this.current === 'unsubscribed' || this.current === 'failed') return;
    this.live = false;
    this.host.unsubscribe(this);
    this.rejectReady(new HoldfastError(ErrorCode.ClientClosed, `unsubscribed from "${this.topic}" before it was confirmed`));
    this.setState('unsubscribed');
  }

  /** @internal The `sub` frame for the current connection: from the position if there is one. */
  _subFrame(): SubFrame {
    const frame: SubFrame = { type: 'sub', topic: this.topic };
    if (this.currentPosition !== undefined) {
      frame.epoch = this.currentPosition.epoch;
      frame.offset = this.currentPosition.offset;
    } else if (this.from !== undefined) {
      frame.from = this.from;
    }
    return frame;
  }

  /** @internal */
  get _awaiting(): boolean {
    return this.awaiting;
  }

  /** @internal The `sub` frame was written. */
  _sent(): void {
    this.awaiting = true;
    this.live = false;
  }

  /** @internal The connection ended: wait for the next `subscribed` before delivering again. */
  _disconnected(): void {
    this.awaiting = false;
    this.live = false;
    if (this.current === 'subscribed') this.setState('subscribing');
  }

  /** @internal */
  _subscribed(frame: SubscribedFrame): void {
    this.awaiting = false;
    this.live = true;
    this.currentMode = frame.mode;
    this.lastRecovered = frame.recovered;
    // Volatile topics have no offsets; keeping '' / 0 would only be sent back and ignored.
    this.currentPosition = frame.mode === 'volatile' ? undefined : { epoch: frame.epoch, offset: frame.offset };
    const info: SubscribedInfo = {
      mode: frame.mode,
      epoch: frame.epoch,
      offset: frame.offset,
      recovering: frame.recovering,
      recovered: frame.recovered,
      resubscribe: this.confirmed,
    };
    if ('snapshot' in frame) info.snapshot = frame.snapshot;
    this.confirmed = true;
    this.settleReady?.resolve(info);
    this.settleReady = undefined;
    this.setState('subscribed');
    this.events.emit('subscribed', info);
  }

  /**
   * @internal Hands a message to the application unless it is a duplicate.
   * @returns the offset to acknowledge, or undefined when there is nothing to acknowledge.
   */
  _deliver(frame: MsgFrame): number | undefined {
    if (!this.live) return undefined; // before `subscribed` on this connection, or unsubscribed
    const { offset } = frame;
    if (offset !== undefined) {
      // At-least-once on the wire, exactly-once for the application: a resent offset is dropped.
      if (this.currentPosition !== undefined && offset <= this.currentPosition.offset) return undefined;
      this.currentPosition = { epoch: this.currentPosition?.epoch ?? '', offset };
    }
    const meta: MessageMeta = { topic: this.topic };
    if (offset !== undefined) meta.offset = offset;
    if (frame.key !== undefined) meta.key = frame.key;
    this.events.emit('message', frame.data, meta);
    return offset;
  }

  /** @internal The server refused the subscription (`error` frame with this topic). */
  _refused(error: HoldfastError): void {
    this.live = false;
    this.awaiting = false;
    this.rejectReady(error);
    this.setState('failed');
    this.events.emit('error', error);
  }

  /**
   * @internal The server refused the `sub` for a passing reason (STORE_UNAVAILABLE): the application
   * hears of it, and the subscription stays 'subscribing' (`ready` waits) until the `sub` sent
   * again is answered.
   */
  _deferred(error: HoldfastError): void {
    this.live = false;
    this.awaiting = false;
    this.events.emit('error', error);
  }

  /** @internal The client closed for good. */
  _closed(error: HoldfastError, state: 'unsubscribed' | 'failed'): void {
    if (this.current === 'unsubscribed' || this.current === 'failed') return;
    this.live = false;
    this.awaiting = false;
    this.rejectReady(error);
    this.setState(state);
  }

  private rejectReady(error: HoldfastError): void {
    this.settleReady?.reject(error);
    this.settleReady = undefined;
  }

  private setState(newState: SubscriptionState): void {
    const oldState = this.current;
    if (oldState === newState) return;
    this.current = newState;
    this.events.emit('state', { oldState, newState });
  }
}
