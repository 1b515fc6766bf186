import type { Clock } from '../protocol/clock.js';
import { ErrorCode } from '../protocol/codes.js';
import { PROTOCOL_DEFAULTS } from '../protocol/defaults.js';
import { HoldfastError } from '../protocol/errors.js';
import type { ClientFrame, ErrorFrame, PubFrame, ServerFrame, WelcomeFrame } from '../protocol/frames.js';
import type { PayloadLimits } from '../protocol/payload.js';
import { AckBatcher } from './ack-batcher.js';
import type { MessageListener, PublishOptions, SubscribeOptions } from './events.js';
import { messageId } from './message-id.js';
import { Outbox, type OutboxBody } from './outbox.js';
import { OutboxPersistence, type OutboxStorage, type StoredPublish } from './outbox-storage.js';
import { checkTopic, preflight } from './preflight.js';
import { SubscriptionSet } from './subscription-set.js';
import type { Subscription } from './subscription.js';

export interface ClientSessionOptions {
  clock: Clock;
  ackDelay: number;
  ackBatch: number;
  outboxLimit: number;
  requestTimeout: number;
  outboxStorage: OutboxStorage | undefined;
  outboxMaxAge: number;
}

export interface SessionLink {
  /** Writes a frame on the welcomed connection; false when there is none. */
  send(frame: ClientFrame): boolean;
  reportError(error: HoldfastError): void;
}

/**
 * The client's half of a session, which outlives connections: the resume ticket, the outbox of
 * reliable frames, the acknowledgements owed, and the subscriptions with their positions. The
 * client's state machine hands it each welcome and each frame; it never touches sockets or timers
 * of the connection itself.
 */
export class ClientSession {
  private ticket: { session: string; token: string } | undefined;
  /** What the server accepts: the protocol's defaults until a `welcome` says. */
  private readonly limits: PayloadLimits = { maxPayload: PROTOCOL_DEFAULTS.maxPayload, maxDepth: PROTOCOL_DEFAULTS.maxDepth };
  private readonly outbox: Outbox;
  private readonly acks: AckBatcher;
  private readonly subscriptions: SubscriptionSet;
  private readonly persistence: OutboxPersistence | undefined;
  /** The outbox storage is still loading: nothing of the outbox is sent until it is restored. */
  private restoring = false;
  /** A welcomed connection exists (between `welcome` and `disconnected`). */
  private open = false;
  private closed = false;

  constructor(
    private readonly options: ClientSessionOptions,
    private readonly link: SessionLink,
  ) {
    this.outbox = new Outbox(options.clock, options.outboxLimit, messageId, (id) => this.persistence?.remove(id));
    if (options.outboxStorage !== undefined) {
      this.persistence = new OutboxPersistence(options.outboxStorage, (error) => link.reportError(error));
      this.restoring = true;
      void this.restoreOutbox(this.persistence);
    }
    this.acks = new AckBatcher(options.clock, { delay: options.ackDelay, batch: options.ackBatch }, (frame) => link.send(frame));
    this.subscriptions = new SubscriptionSet(
      {
        send: (frame) => link.send(frame),
        ack: (topic, offset) => this.acks.offset(topic, offset),
        reportError: (error) => link.reportError(error),
      },
      options.clock,
    );
  }

  /** Session id and newest resume token, for `hello.resume`. */
  get resume(): { session: string; token: string } | undefined {
    return this.ticket;
  }

  /**
   * A connection was welcomed (the link can send now). Everything owed goes out before any listener
   * runs, so a publish made in an 'open' listener cannot overtake older frames: subscriptions
   * first, then the outbox in seq order, then owed acknowledgements.
   */
  welcome(frame: WelcomeFrame): void {
    this.ticket = { session: frame.session, token: frame.token };
    const { maxPayload, maxDepth } = frame.limits ?? {};
    if (typeof maxPayload === 'number' && maxPayload > 0) this.limits.maxPayload = maxPayload;
    if (typeof maxDepth === 'number' && maxDepth > 0) this.limits.maxDepth = maxDepth;
    if (!frame.resumed) {
      this.outbox.renumber();
      this.acks.dropReplies();
    }
    this.open = true;
    this.subscriptions.restore();
    if (!this.restoring) for (const pending of this.outbox.frames()) this.link.send(pending);
    this.acks.flush();
  }

  /** Reliable publishes and requests the server has not confirmed yet. */
  get pending(): number {
    return this.outbox.size;
  }

  /** Settles when every publish made so far is written to the outbox storage (at once without one). */
  stored(): Promise<void> {
    return this.persistence?.flushed() ?? Promise.resolve();
  }

  /** A frame of the welcomed connection (not `welcome`, `ping`, `error`). */
  receive(frame: ServerFrame): void {
    switch (frame.type) {
      case 'ack':
        return this.outbox.acknowledge(frame.seq);
      case 'reply':
        this.acks.reply(frame.seq); // confirmed even when the seq is no longer known
        return this.outbox.reply(frame);
      case 'msg':
        return this.subscriptions.onMessage(frame);
      case 'subscribed':
        return this.subscriptions.onSubscribed(frame);
      case 'unsubscribed':
        return this.subscriptions.onUnsubscribed(frame);
    }
  }

  /** An `error` frame with a topic; true when it was a refusal of a subscription. */
  refusal(frame: ErrorFrame): boolean {
    return this.subscriptions.onTopicError(frame);
  }

  disconnected(): void {
    this.open = false;
    this.acks.dropOffsets(); // the next `sub` carries the positions
    this.subscriptions.disconnected();
  }

  flushAcks(): void {
    this.acks.flush();
  }

  /** The client closed for good: every pending operation rejects with `error`. */
  close(error: HoldfastError, subscriptionState: 'unsubscribed' | 'failed'): void {
    this.open = false;
    this.closed = true;
    this.acks.dispose();
    this.outbox.rejectAll(error, error.code === ErrorCode.ClientClosed);
    this.subscriptions.closeAll(error, subscriptionState);
  }

  publish(topic: string, data: unknown, options: PublishOptions): Promise<void> {
    const refusal = preflight(data, this.limits, topic);
    if (refusal !== undefined) return Promise.reject(refusal);
    // `undefined` is not JSON: the frame would lose its required `data` field and be refused.
    const body: Omit<PubFrame, 'seq' | 'id'> = { type: 'pub', topic, data: data ?? null };
    if (options.key !== undefined) body.key = options.key;
    if (options.reliable === false) {
      this.link.send(body); // fire-and-forget: nothing confirms it, nothing resends it
      return Promise.resolve();
    }
    // Resolves with undefined (Outbox.reply): no further promise needed to drop a value.
    return this.enqueue(body) as Promise<void>;
  }

  request(method: string, data: unknown, timeout: number | undefined): Promise<unknown> {
    const refusal = preflight(data, this.limits);
    if (refusal !== undefined) return Promise.reject(refusal);
    return this.enqueue({ type: 'req', method, data: data ?? null }, timeout ?? this.options.requestTimeout);
  }

  subscribe(topic: string, onMessage: MessageListener | undefined, options: SubscribeOptions): Subscription {
    const refusal = checkTopic(topic);
    if (refusal !== undefined) return this.subscriptions.stillborn(topic, options, refusal);
    return this.subscriptions.subscribe(topic, onMessage, options);
  }

  /** A subscription that failed before it began (the client is closed). */
  stillborn(topic: string, options: SubscribeOptions, error: HoldfastError): Subscription {
    return this.subscriptions.stillborn(topic, options, error);
  }

  private enqueue(body: OutboxBody, timeout?: number): Promise<unknown> {
    if (this.outbox.isFull) {
      return Promise.reject(new HoldfastError(ErrorCode.OutboxFull, `the outbox holds ${this.outbox.size} frames (outboxLimit)`));
    }
    const { frame, promise } = this.outbox.add(body, timeout);
    if (this.persistence !== undefined && frame.type === 'pub') this.persistence.put(storedPublish(frame, this.options.clock.now()));
    // When not open: sent after the next welcome. While restoring: after the restored ones.
    if (!this.restoring) this.link.send(frame);
    return promise;
  }

  /**
   * Puts what an earlier client (the page before a reload) left unconfirmed in front of the
   * outbox, with the same ids: the server drops any the earlier page had already delivered.
   */
  private async restoreOutbox(persistence: OutboxPersistence): Promise<void> {
    const stored = await persistence.load(this.options.clock, this.options.outboxMaxAge, (late) => this.restore(late, 'end'));
    this.restore(stored, 'front');
    this.restoring = false;
    if (this.open) for (const pending of this.outbox.frames()) this.link.send(pending);
  }

  private restore(stored: StoredPublish[], where: 'front' | 'end'): void {
    if (this.closed) return; // the storage keeps them for the next client
    const publishes = stored.map((publish) => {
      const body: Omit<PubFrame, 'seq' | 'id'> = { type: 'pub', topic: publish.topic, data: publish.data };
      if (publish.key !== undefined) body.key = publish.key;
      const refused = (error: HoldfastError): void => {
        if (this.closed) return; // a final close, not a refusal: the storage keeps it or forgot it
        // No caller is left: the error carries the publish (as `cause`) for the application.
        const message = `a publish to "${publish.topic}" restored from outboxStorage was refused: ${error.message}`;
        this.link.reportError(new HoldfastError(error.code, message, { cause: publish }));
      };
      return { id: publish.id, body, refused };
    });
    const added = this.outbox.restore(publishes, where);
    // Late ones join an outbox that is already sending.
    if (where === 'end' && !this.restoring && this.open) for (const frame of added) this.link.send(frame);
  }
}

function storedPublish(frame: PubFrame, time: number): StoredPublish {
  const entry: StoredPublish = { id: frame.id!, topic: frame.topic, data: frame.data, time };
  if (frame.key !== undefined) entry.key = frame.key;
  return entry;
}
