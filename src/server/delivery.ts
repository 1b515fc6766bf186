import type { MsgFrame, TopicMode } from '../protocol/index.js';
import { encodeFrame } from '../protocol/index.js';
import type { StoreEvent, StoredMessage, Store } from '../store/types.js';
import type { Connection } from './connection.js';

/**
 * How a subscription receives messages:
 * - `live`: caught up; new messages go out straight from store events.
 * - `pumping`: catching up by reading the store; store events are left to the pump.
 * - `blocked`: the in-flight window or the socket buffer is full; an ack or a drain restarts it.
 * - `held`: its position cannot be served any more; the hub repositions and restarts it.
 */
export type DeliveryState = 'live' | 'pumping' | 'blocked' | 'held';

export class ServerSubscription {
  state: DeliveryState = 'pumping';
  closed = false;
  /** A pump loop is running (it may be between store reads). */
  pumpRunning = false;

  constructor(
    readonly connection: Connection,
    readonly topic: string,
    readonly mode: TopicMode,
    /** Stream epoch this subscription's offsets belong to. */
    public epoch: string,
    /** Highest offset sent. */
    public sent: number,
    /** Highest offset the client acknowledged. */
    public acked: number,
  ) {}
}

/** Called when a subscription's position can no longer be served (trimmed while it lagged, or a new epoch). */
export type GapHandler = (subscription: ServerSubscription) => void;

const READ_BATCH = 500;

/**
 * Fan-out of store events to local subscriptions, and catch-up from the store for the ones that
 * fell behind. A slow reader never grows a queue here: it is blocked and later reads the store.
 */
export class Delivery {
  private readonly byTopic = new Map<string, Set<ServerSubscription>>();
  /**
   * Newest offset seen per subscribed topic, with its epoch, so a pump knows whether it is really
   * caught up. An offset of another epoch says nothing about this one.
   */
  private readonly heads = new Map<string, { epoch: string; offset: number }>();
  /** Subscriptions in the `blocked` state, for the sweeper's retries. */
  private readonly blocked = new Set<ServerSubscription>();
  /** Topics appended to since the last retention trim. */
  readonly touched = new Set<string>();

  constructor(
    private readonly store: Store,
    private readonly maxInFlight: number,
    private readonly maxBufferedBytes: number,
    private readonly onGap: GapHandler,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Registers a subscription (or restarts a held one) from its `sent` offset. */
  start(subscription: ServerSubscription): void {
    let set = this.byTopic.get(subscription.topic);
    if (set === undefined) this.byTopic.set(subscription.topic, (set = new Set()));
    set.add(subscription);
    subscription.state = 'pumping';
    this.blocked.delete(subscription);
    if (subscription.mode === 'volatile') subscription.state = 'live';
    else this.pump(subscription).catch(this.onError);
  }

  stop(subscription: ServerSubscription): void {
    subscription.closed = true;
    this.blocked.delete(subscription);
    const set = this.byTopic.get(subscription.topic);
    if (set === undefined) return;
    set.delete(subscription);
    if (set.size === 0) {
      this.byTopic.delete(subscription.topic);
      this.heads.delete(subscription.topic);
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
  acknowledge(subscription: ServerSubscription, offset: number): void {
    if (offset > subscription.acked) subscription.acked = Math.min(offset, subscription.sent);
    if (subscription.state === 'blocked') this.pump(subscription).catch(this.onError);
  }

  /** The connection's send buffer drained: blocked subscriptions may go on. */
  drained(connection: Connection): void {
    for (const subscription of connection.subscriptions.values()) {
      if (subscription.state === 'blocked') this.pump(subscription).catch(this.onError);
    }
  }

  handle(event: StoreEvent): void {
    if (event.kind === 'volatile') return this.fanOutVolatile(event.message.topic, event.message.data, event.message.key);
    const { topic, messages } = event;
    const last = messages[messages.length - 1];
    if (last === undefined) return;
    this.touched.add(topic);
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
          subscription.state = 'held';
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
  private adoptEpoch(subscription: ServerSubscription, epoch: string): void {
    subscription.epoch = epoch;
    subscription.acked = 0;
    const { topic, mode } = subscription;
    subscription.connection.send({ type: 'subscribed', topic, mode, epoch, offset: 0, recovering: true, recovered: true });
  }

  private pushLive(subscription: ServerSubscription, messages: StoredMessage[], texts: Array<string | undefined>): void {
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
      if (text !== '') subscription.connection.sendText(text);
      subscription.sent = message.offset;
    }
  }

  private hasRoom(subscription: ServerSubscription): boolean {
    return (
      subscription.sent - subscription.acked < this.maxInFlight &&
      subscription.connection.socket.bufferedAmount <= this.maxBufferedBytes
    );
  }

  private fanOutVolatile(topic: string, data: unknown, key: string | undefined): void {
    const subscriptions = this.byTopic.get(topic);
    if (subscriptions === undefined) return;
    let text: string | undefined;
    for (const subscription of subscriptions) {
      // A volatile message to a congested connection is dropped: that is the mode's promise.
      if (subscription.connection.socket.bufferedAmount > this.maxBufferedBytes) continue;
      const frame: MsgFrame = key === undefined ? { type: 'msg', topic, data } : { type: 'msg', topic, data, key };
      subscription.connection.sendText((text ??= encodeFrame(frame)));
    }
  }

  /**
   * Reads from the store until the subscription is caught up, its window is full or the send
   * buffer is: checked message by message, so a catch-up never writes more than one message past
   * `maxBufferedBytes`, and each read asks for no more data than the buffer has room for.
   */
  private async pump(subscription: ServerSubscription): Promise<void> {
    if (subscription.pumpRunning) return;
    subscription.state = 'pumping';
    this.blocked.delete(subscription);
    subscription.pumpRunning = true;
    const { socket } = subscription.connection;
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
          subscription.state = 'held';
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
          if (text !== '') subscription.connection.sendText(text);
          subscription.sent = message.offset;
        }
        const caughtUp = result.messages.length < limit && subscription.sent >= this.headOf(subscription.topic, subscription.epoch);
        if (caughtUp) {
          subscription.state = 'live';
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

  private block(subscription: ServerSubscription): void {
    subscription.state = 'blocked';
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
