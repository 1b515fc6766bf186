import type { MsgFrame, TopicMode } from '../protocol/index.js';
import { encodeFrame } from '../protocol/index.js';
import type { StoreEvent, StoredMessage, Store } from '../store/types.js';
import type { ServerSubscription } from './subscription.js';

/** Called when a subscription's position can no longer be served (trimmed while it lagged, or a new epoch). */
export type GapHandler<S extends ServerSubscription = ServerSubscription> = (subscription: S) => void;

const READ_BATCH = 500;

/** What Delivery needs of the store: reads, and watching the topics it has subscribers for. */
export type DeliveryStore = Pick<Store, 'read' | 'watch' | 'unwatch'>;

/**
 * Fan-out of store events to local subscriptions, and catch-up from the store for the ones that
 * fell behind. A slow reader never grows a queue here: it is blocked and later reads the store.
 *
 * Notifications are never trusted for completeness: they may come late, twice, or not at all (a
 * store that lost its backend). An event whose first offset is not the next one the subscription
 * needs makes it read the store; `recheck` reads for every live subscription after an outage.
 */
export class Delivery<S extends ServerSubscription = ServerSubscription> {
  private readonly byTopic = new Map<string, Set<S>>();
  /** The store's watch of each topic with subscribers, resolved once events of it are heard. */
  private readonly watching = new Map<string, Promise<void>>();
  /**
   * Newest offset seen per subscribed topic, with its epoch, so a pump knows whether it is really
   * caught up. An offset of another epoch says nothing about this one.
   */
  private readonly heads = new Map<string, { epoch: string; offset: number }>();
  /** Subscriptions in the `blocked` state, for the sweeper's retries. */
  private readonly blocked = new Set<S>();

  constructor(
    private readonly store: DeliveryStore,
    private readonly maxInFlight: number,
    private readonly maxBufferedBytes: number,
    private readonly onGap: GapHandler<S>,
    private readonly onError: (error: unknown) => void,
    /** `count` messages of a topic of this mode were written to subscribers (for metrics). */
    private readonly sent: (mode: TopicMode, count: number) => void = () => undefined,
  ) {}

  /**
   * Registers a held subscription and watches its topic in the store: resolves once the store's
   * events of the topic reach this node, so a position read after it misses nothing.
   */
  watch(subscription: S): Promise<void> {
    const { topic } = subscription;
    let set = this.byTopic.get(topic);
    if (set === undefined) this.byTopic.set(topic, (set = new Set()));
    set.add(subscription);
    let watched = this.watching.get(topic);
    if (watched === undefined) this.watching.set(topic, (watched = this.store.watch(topic)));
    return watched;
  }

  /** Starts (or restarts) a held subscription from its `sent` offset. */
  start(subscription: S): void {
    if (subscription.closed) return;
    this.blocked.delete(subscription);
    if (subscription.mode === 'volatile') return subscription.moveTo('live');
    subscription.moveTo('pumping');
    this.pump(subscription).catch(this.onError);
  }

  stop(subscription: S): void {
    subscription.moveTo('closed');
    this.blocked.delete(subscription);
    const { topic } = subscription;
    const set = this.byTopic.get(topic);
    if (set === undefined || !set.delete(subscription) || set.size > 0) return;
    this.byTopic.delete(topic);
    this.heads.delete(topic);
    this.watching.delete(topic);
    this.store.unwatch(topic);
  }

  /**
   * The store may have missed notifications (it lost its backend and has it back): every live
   * subscription reads the store once, and goes on from what it finds.
   */
  recheck(): void {
    for (const set of this.byTopic.values()) {
      for (const subscription of set) if (subscription.state === 'live' && subscription.mode !== 'volatile') this.pump(subscription).catch(this.onError);
    }
  }

  private noteHead(topic: string, epoch: string, offset: number): void {
    const known = this.heads.get(topic);
    if (known === undefined || known.epoch !== epoch || offset > known.offset) this.heads.set(topic, { epoch, offset });
  }

  private headOf(topic: string, epoch: string): number {
    const known = this.heads.get(topic);
    return known !== undefined && known.epoch === epoch ? known.offset : 0;
  }

  subscriberCount(): number {
    let count = 0;
    for (const set of this.byTopic.values()) count += set.size;
    return count;
  }

  /** The client acknowledged `offset`; may reopen the window. */
  acknowledge(subscription: S, offset: number): void {
    if (offset > subscription.acked) subscription.acked = Math.min(offset, subscription.sent);
    if (subscription.state === 'blocked') this.pump(subscription).catch(this.onError);
  }

  /** A connection's send buffer drained: its blocked subscriptions may go on. */
  drained(subscriptions: Iterable<S>): void {
    for (const subscription of subscriptions) {
      if (subscription.state === 'blocked') this.pump(subscription).catch(this.onError);
    }
  }

  handle(event: Extract<StoreEvent, { kind: 'appended' | 'volatile' }>): void {
    if (event.kind === 'volatile') return this.fanOutVolatile(event.message.topic, event.message.data, event.message.key);
    const { topic, messages } = event;
    const last = messages[messages.length - 1];
    if (last === undefined) return;
    const subscriptions = this.byTopic.get(topic);
    if (subscriptions === undefined) return;
    this.noteHead(topic, event.epoch, last.offset);
    // Encoded once per message for every subscriber, not once per subscriber.
    const texts: Array<string | undefined> = new Array(messages.length);
    for (const subscription of subscriptions) {
      if (subscription.state !== 'live') continue;
      if (subscription.epoch !== event.epoch) {
        // Nothing sent yet: its empty position is recoverable in any epoch (PROTOCOL.md, Recovery).
        if (subscription.sent === 0) this.adoptEpoch(subscription, event.epoch);
        else {
          subscription.moveTo('held');
          this.onGap(subscription);
          continue;
        }
      }
      this.pushLive(subscription, messages, texts);
    }
  }

  /**
   * A subscription that started before its topic existed (or after it was forgotten) sees the
   * topic created in an epoch it did not know: it loses nothing, so the client is told it goes on
   * from offset 0 of the new epoch, recovered.
   */
  private adoptEpoch(subscription: S, epoch: string): void {
    subscription.epoch = epoch;
    subscription.acked = 0;
    const { topic, mode } = subscription;
    subscription.connection.send({ type: 'subscribed', topic, mode, epoch, offset: 0, recovering: true, recovered: true });
  }

  private pushLive(subscription: S, messages: StoredMessage[], texts: Array<string | undefined>): void {
    for (let i = 0; i < messages.length; i++) {
      const message = messages[i]!;
      if (message.offset <= subscription.sent) continue;
      if (message.offset !== subscription.sent + 1) {
        // Something between was not seen here (e.g. appended while this subscription started).
        this.pump(subscription).catch(this.onError);
        return;
      }
      if (!this.hasRoom(subscription)) {
        this.block(subscription);
        return;
      }
      const text = (texts[i] ??= this.encode(message));
      if (text !== '') {
        subscription.connection.sendText(text);
        this.sent(subscription.mode, 1);
      }
      subscription.sent = message.offset;
    }
  }

  private hasRoom(subscription: S): boolean {
    return (
      subscription.sent - subscription.acked < this.maxInFlight &&
      subscription.connection.bufferedAmount <= this.maxBufferedBytes
    );
  }

  private fanOutVolatile(topic: string, data: unknown, key: string | undefined): void {
    const subscriptions = this.byTopic.get(topic);
    if (subscriptions === undefined) return;
    let text: string | undefined;
    for (const subscription of subscriptions) {
      // A volatile message to a congested connection is dropped: that is the mode's promise.
      if (subscription.state !== 'live' || subscription.connection.bufferedAmount > this.maxBufferedBytes) continue;
      const frame: MsgFrame = key === undefined ? { type: 'msg', topic, data } : { type: 'msg', topic, data, key };
      subscription.connection.sendText((text ??= encodeFrame(frame)));
      this.sent('volatile', 1);
    }
  }

  /**
   * Reads from the store until the subscription is caught up, its window is full or the send
   * buffer is: checked message by message, so a catch-up never writes more than one message past
   * `maxBufferedBytes`, and each read asks for no more data than the buffer has room for.
   */
  private async pump(subscription: S): Promise<void> {
    if (subscription.pumpRunning || subscription.closed || subscription.state === 'held') return;
    subscription.moveTo('pumping');
    this.blocked.delete(subscription);
    subscription.pumpRunning = true;
    const socket = subscription.connection;
    try {
      for (;;) {
        if (subscription.closed) return;
        if (!this.hasRoom(subscription)) {
          this.block(subscription);
          return;
        }
        const limit = Math.min(this.maxInFlight - (subscription.sent - subscription.acked), READ_BATCH);
        const result = await this.store.read(subscription.topic, subscription.sent, limit, this.maxBufferedBytes - socket.bufferedAmount);
        if (subscription.closed) return;
        this.noteHead(subscription.topic, result.epoch, result.head);
        const lost = subscription.mode === 'reliable' && result.first > subscription.sent + 1 && result.head > subscription.sent;
        if (result.epoch !== subscription.epoch || lost) {
          subscription.moveTo('held');
          this.onGap(subscription);
          return;
        }
        for (const message of result.messages) {
          // The window was counted in the read's limit (offsets of a `latest` topic have gaps); the
          // buffer is counted here. The rest of this read is read again when a drain restarts the pump.
          if (socket.bufferedAmount > this.maxBufferedBytes || subscription.closed) {
            this.block(subscription);
            return;
          }
          const text = this.encode(message);
          if (text !== '') {
            subscription.connection.sendText(text);
            this.sent(subscription.mode, 1);
          }
          subscription.sent = message.offset;
        }
        const caughtUp = result.messages.length < limit && subscription.sent >= this.headOf(subscription.topic, subscription.epoch);
        if (caughtUp) {
          subscription.moveTo('live');
          return;
        }
      }
    } catch (error) {
      // The store failed: leave the subscription blocked; the next ack, drain or sweep retries.
      this.block(subscription);
      this.onError(error);
    } finally {
      subscription.pumpRunning = false;
    }
  }

  /**
   * Called by the sweeper: restarts blocked subscriptions whose store read failed or whose buffer
   * drained. It visits the blocked ones only, not every subscription of the server.
   */
  retryBlocked(): void {
    for (const subscription of [...this.blocked]) if (!subscription.pumpRunning) this.pump(subscription).catch(this.onError);
  }

  private block(subscription: S): void {
    if (subscription.closed || subscription.state === 'held') return;
    subscription.moveTo('blocked');
    this.blocked.add(subscription);
  }

  /**
   * A message as text, or '' when it cannot be encoded. The server only stores what it could
   * encode, so this guards against a store handing back something else: one bad message must not
   * stop a topic for every subscriber.
   */
  private encode(message: StoredMessage): string {
    try {
      return encodeMessage(message);
    } catch (error) {
      this.onError(error);
      return '';
    }
  }
}

export function encodeMessage(message: StoredMessage): string {
  const frame: MsgFrame =
    message.key === undefined
      ? { type: 'msg', topic: message.topic, offset: message.offset, data: message.data }
      : { type: 'msg', topic: message.topic, offset: message.offset, data: message.data, key: message.key };
  return encodeFrame(frame);
}
