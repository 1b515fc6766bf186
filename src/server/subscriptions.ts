import { ErrorCode, isValidTopic, type ClientAckFrame, type SubFrame, type SubscribedFrame } from '../protocol/index.js';
import type { StreamInfo } from '../store/types.js';
import type { Connection } from './connection.js';
import { ServerSubscription } from './delivery.js';
import type { Hub } from './hub.js';
import type { ResolvedTopic } from './topics.js';

/** `sub`, `unsub` and client acks of offsets, with the recovery rules of PROTOCOL.md. */
export class Subscriptions {
  constructor(private readonly hub: Hub) {}

  async subscribe(connection: Connection, frame: SubFrame): Promise<void> {
    const { hub } = this;
    const { topic } = frame;
    if (!isValidTopic(topic)) return hub.refuse(connection, ErrorCode.InvalidTopic, 'topic names have 1 to 256 characters and no control characters', { topic, for: 'sub' });
    const settings = hub.topics.resolve(topic);
    if (settings === undefined) return hub.refuse(connection, ErrorCode.UnknownTopic, `unknown topic "${topic}"`, { topic, for: 'sub' });
    const existing = connection.subscriptions.get(topic);
    if (existing === undefined && connection.subscriptions.size >= hub.options.limits.maxSubscriptions) {
      return hub.refuse(connection, ErrorCode.TooManySubscriptions, `at most ${hub.options.limits.maxSubscriptions} subscriptions per session`, { topic, for: 'sub' });
    }
    if (existing !== undefined) hub.delivery.stop(existing);
    // Holds the slot (and the subscription limit) while the checks below run.
    const subscription = new ServerSubscription(connection, topic, settings.mode, '', 0, 0);
    subscription.state = 'held';
    connection.subscriptions.set(topic, subscription);
    const current = () => connection.state === 'open' && connection.subscriptions.get(topic) === subscription;

    try {
      if (!(await hub.authorized(connection, topic, 'subscribe'))) {
        if (current()) connection.subscriptions.delete(topic);
        return hub.refuse(connection, ErrorCode.Forbidden, `not allowed to subscribe to "${topic}"`, { topic, for: 'sub' });
      }
      if (settings.mode === 'volatile') {
        if (!current()) return;
        this.sendSubscribed(connection, subscription, { epoch: '', offset: 0, recovering: false, recovered: false });
        hub.delivery.start(subscription);
        return;
      }
      const position = this.position(connection, topic, frame);
      const info = await hub.store.info(topic);
      if (!current()) return;
      if (position !== undefined && this.recoverable(settings, position, info)) {
        const offset = Math.min(position.offset, info.head);
        this.begin(connection, subscription, info.epoch, offset, { recovering: true, recovered: true });
        return;
      }
      if (position !== undefined) return await this.reposition(subscription, settings, info);
      const from = frame.from ?? (settings.mode === 'latest' ? 'start' : 'now');
      const offset = from === 'start' ? info.first - 1 : info.head;
      this.begin(connection, subscription, info.epoch, offset, { recovering: false, recovered: true });
    } catch (error) {
      hub.options.onError(error);
      if (current()) connection.subscriptions.delete(topic);
      hub.refuse(connection, ErrorCode.StoreUnavailable, 'the store failed; subscribe again', { topic, for: 'sub' });
    }
  }

  unsubscribe(connection: Connection, topic: string): void {
    const subscription = connection.subscriptions.get(topic);
    if (subscription !== undefined) {
      this.hub.delivery.stop(subscription);
      connection.subscriptions.delete(topic);
    }
    connection.session?.cursors.delete(topic);
    connection.send({ type: 'unsubscribed', topic });
  }

  acknowledge(connection: Connection, frame: ClientAckFrame): void {
    const session = connection.session!;
    for (const [topic, offset] of Object.entries(frame.offsets ?? {})) {
      const subscription = connection.subscriptions.get(topic);
      if (subscription === undefined || subscription.mode === 'volatile') continue;
      this.hub.delivery.acknowledge(subscription, offset);
      session.cursors.set(topic, { epoch: subscription.epoch, offset: subscription.acked });
    }
    if (frame.replies !== undefined) session.ledger.confirmReplies(frame.replies);
    this.hub.persist(session);
  }

  /**
   * The position cannot be served (trimmed, or a new epoch): tell the client `recovered: false`
   * with the snapshot or from the oldest retained message, then go on from there.
   */
  async reposition(subscription: ServerSubscription, settings: ResolvedTopic, info?: StreamInfo): Promise<void> {
    const { hub } = this;
    const { connection, topic } = subscription;
    const current = () => !subscription.closed && connection.subscriptions.get(topic) === subscription;
    const stream = info ?? (await hub.store.info(topic));
    if (!current()) return;
    if (settings.snapshot !== undefined) {
      const session = connection.session!;
      const snapshot = await settings.snapshot(topic, { identity: connection.identity, session: session.id });
      if (!current()) return;
      // head was read before the snapshot, so the snapshot may already include what follows it.
      this.begin(connection, subscription, stream.epoch, stream.head, { recovering: true, recovered: false, snapshot });
      return;
    }
    this.begin(connection, subscription, stream.epoch, stream.first - 1, { recovering: true, recovered: false });
  }

  private begin(
    connection: Connection,
    subscription: ServerSubscription,
    epoch: string,
    offset: number,
    flags: { recovering: boolean; recovered: boolean; snapshot?: unknown },
  ): void {
    subscription.epoch = epoch;
    subscription.sent = offset;
    subscription.acked = offset;
    this.sendSubscribed(connection, subscription, { epoch, offset, ...flags });
    this.hub.delivery.start(subscription);
  }

  private sendSubscribed(
    connection: Connection,
    subscription: ServerSubscription,
    fields: { epoch: string; offset: number; recovering: boolean; recovered: boolean; snapshot?: unknown },
  ): void {
    const frame: SubscribedFrame = { type: 'subscribed', topic: subscription.topic, mode: subscription.mode, ...fields };
    if (fields.snapshot === undefined) delete frame.snapshot;
    connection.send(frame);
  }

  /** The client's position, or the session's cursor when the client gave none. */
  private position(connection: Connection, topic: string, frame: SubFrame): { epoch: string; offset: number } | undefined {
    if (frame.offset !== undefined) return { epoch: frame.epoch ?? '', offset: frame.offset };
    if (frame.from !== undefined) return undefined;
    return connection.session?.cursors.get(topic);
  }

  private recoverable(settings: ResolvedTopic, position: { epoch: string; offset: number }, info: StreamInfo): boolean {
    if (position.epoch !== info.epoch) return false;
    return settings.mode === 'latest' || position.offset >= info.first - 1;
  }
}
