import { ErrorCode, isValidTopic, payloadError, type ClientAckFrame, type SubFrame, type SubscribedFrame } from '../protocol/index.js';
import type { Store, StreamInfo } from '../store/types.js';
import type { Connection } from './connection.js';
import type { Delivery } from './delivery.js';
import type { SafeObserver } from './observer.js';
import type { ResolvedLimits } from './options.js';
import { dedupKey } from './reply.js';
import type { RequestRuns } from './request-runs.js';
import type { SessionSaves } from './session-saves.js';
import { ServerSubscription } from './subscription.js';
import type { ResolvedTopic, TopicDirectory } from './topics.js';

type HubSubscription = ServerSubscription<Connection>;

/** What subscriptions need of the hub. */
export interface SubscriptionsContext {
  readonly limits: ResolvedLimits;
  readonly onError: (error: unknown) => void;
  readonly observer: Pick<SafeObserver, 'replay' | 'snapshotSent'>;
  readonly store: Pick<Store, 'info'>;
  readonly topics: Pick<TopicDirectory, 'resolve'>;
  readonly delivery: Delivery<ServerSubscription<Connection>>;
  readonly saves: Pick<SessionSaves, 'request'>;
  readonly requests: Pick<RequestRuns, 'confirm'>;
  authorized(connection: Connection, topic: string, action: 'subscribe' | 'publish'): boolean | Promise<boolean>;
  /** The session is back under its kept-reply limit: frames that waited for it are handled. */
  handleDeferred(connection: Connection): void;
}

/** `sub`, `unsub` and client acks of offsets, with the recovery rules of PROTOCOL.md. */
export class Subscriptions {
  /** Held subscriptions whose reposition failed, for the sweeper to try again. */
  private readonly retry = new Set<HubSubscription>();

  constructor(private readonly hub: SubscriptionsContext) {}

  async subscribe(connection: Connection, frame: SubFrame): Promise<void> {
    const { hub } = this;
    const { topic } = frame;
    if (!isValidTopic(topic)) return connection.refuse(ErrorCode.InvalidTopic, 'topic names have 1 to 256 characters and no control characters', { topic, for: 'sub' });
    const settings = hub.topics.resolve(topic);
    if (settings === undefined) return connection.refuse(ErrorCode.UnknownTopic, `unknown topic "${topic}"`, { topic, for: 'sub' });
    const existing = connection.subscriptions.get(topic);
    if (existing === undefined && connection.subscriptions.size >= hub.limits.maxSubscriptions) {
      return connection.refuse(ErrorCode.TooManySubscriptions, `at most ${hub.limits.maxSubscriptions} subscriptions per session`, { topic, for: 'sub' });
    }
    if (existing !== undefined) hub.delivery.stop(existing);
    // Holds the slot (and the subscription limit) while the checks below run; it starts `held`.
    const subscription = new ServerSubscription(connection, topic, settings.mode);
    connection.subscriptions.set(topic, subscription);
    const current = () => connection.state === 'open' && connection.subscriptions.get(topic) === subscription;

    try {
      if (!(await hub.authorized(connection, topic, 'subscribe'))) {
        // A refusal of a sub the client already replaced would fail its newer subscription.
        if (!current()) return;
        connection.subscriptions.delete(topic);
        return connection.refuse(ErrorCode.Forbidden, `not allowed to subscribe to "${topic}"`, { topic, for: 'sub' });
      }
      // Events of the topic reach this node before its position is read: nothing falls between.
      if (current()) await hub.delivery.watch(subscription);
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
        hub.observer.replay(info.head - offset);
        this.begin(connection, subscription, info.epoch, offset, { recovering: true, recovered: true });
        return;
      }
      if (position !== undefined) return this.startUnrecoverable(subscription, settings, info);
      const from = frame.from ?? (settings.mode === 'latest' ? 'start' : 'now');
      const offset = from === 'start' ? info.first - 1 : info.head;
      this.begin(connection, subscription, info.epoch, offset, { recovering: false, recovered: true });
    } catch (error) {
      hub.onError(error);
      if (!current()) return;
      connection.subscriptions.delete(topic);
      hub.delivery.stop(subscription);
      connection.refuse(ErrorCode.StoreUnavailable, 'the store failed; subscribe again', { topic, for: 'sub' });
    }
  }

  unsubscribe(connection: Connection, topic: string): void {
    const subscription = connection.subscriptions.get(topic);
    if (subscription !== undefined) {
      this.hub.delivery.stop(subscription);
      connection.subscriptions.delete(topic);
    }
    connection.session?.deleteCursor(topic);
    connection.send({ type: 'unsubscribed', topic });
  }

  acknowledge(connection: Connection, frame: ClientAckFrame): void {
    const session = connection.session!;
    // A save costs a write: only an ack that moved a cursor or confirmed a reply asks for one.
    let changed = false;
    for (const [topic, offset] of Object.entries(frame.offsets ?? {})) {
      const subscription = connection.subscriptions.get(topic);
      // A held subscription is being (re)positioned: an ack for its old offsets means nothing now.
      if (subscription === undefined || subscription.mode === 'volatile' || subscription.state === 'held' || subscription.closed) continue;
      this.hub.delivery.acknowledge(subscription, offset);
      const cursor = session.cursors?.get(topic);
      if (cursor !== undefined && cursor.epoch === subscription.epoch && cursor.offset === subscription.acked) continue;
      session.setCursor(topic, { epoch: subscription.epoch, offset: subscription.acked });
      changed = true;
    }
    if (frame.replies !== undefined) {
      const confirmed = session.acks.confirm(frame.replies);
      if (confirmed.length > 0) {
        changed = true;
        const keys: string[] = [];
        for (const reply of confirmed) if (reply.id !== undefined) keys.push(dedupKey(session.identity, reply.id));
        this.hub.requests.confirm(keys);
      }
      const { maxKeptReplies, maxKeptReplyBytes } = this.hub.limits;
      if (!session.acks.ledger.isFull(maxKeptReplies, maxKeptReplyBytes)) this.hub.handleDeferred(connection);
    }
    if (changed) this.hub.saves.request(session);
  }

  /**
   * The position of a running subscription can no longer be served (trimmed while it lagged, or the
   * stream has a new epoch): tell the client `recovered: false` and go on from there, unless it had
   * received nothing and the new history is whole (then `recovered: true` from offset 0). A failure
   * (store, snapshot hook) is retried by the sweeper; the subscription is never left stuck.
   */
  async reposition(subscription: HubSubscription): Promise<void> {
    const { hub } = this;
    const current = () => !subscription.closed && subscription.connection.subscriptions.get(subscription.topic) === subscription;
    try {
      const settings = hub.topics.resolve(subscription.topic);
      const info = await hub.store.info(subscription.topic);
      if (!current() || settings === undefined) return;
      // The same rule as a `sub` with this position: one that saw nothing of the old epoch loses nothing.
      const position = { epoch: subscription.epoch, offset: subscription.sent };
      if (position.offset === 0 && this.recoverable(settings, position, info)) {
        hub.observer.replay(info.head);
        this.begin(subscription.connection, subscription, info.epoch, 0, { recovering: true, recovered: true });
        return;
      }
      await this.startUnrecoverable(subscription, settings, info);
    } catch (error) {
      hub.onError(error);
      if (current()) this.retry.add(subscription);
    }
  }

  /** Called by the sweeper: repositions whose store read or snapshot failed try again. */
  retryRepositions(): void {
    for (const subscription of this.retry) {
      this.retry.delete(subscription);
      this.reposition(subscription).catch(this.hub.onError);
    }
  }

  /** `recovered: false`: the snapshot and new messages, or without one every retained message. */
  private async startUnrecoverable(subscription: HubSubscription, settings: ResolvedTopic, stream: StreamInfo): Promise<void> {
    const { connection, topic } = subscription;
    const current = () => !subscription.closed && connection.subscriptions.get(topic) === subscription;
    const snapshot = settings.snapshot === undefined ? undefined : await settings.snapshot(topic, { identity: connection.identity, session: connection.session!.id });
    if (!current()) return;
    if (snapshot === undefined) {
      this.hub.observer.replay(stream.head - (stream.first - 1));
      this.begin(connection, subscription, stream.epoch, stream.first - 1, { recovering: true, recovered: false });
      return;
    }
    const { maxDepth } = this.hub.limits;
    if (payloadError(snapshot, { maxPayload: Infinity, maxDepth }) !== undefined) throw new Error(`the snapshot of "${topic}" is not JSON within ${maxDepth} levels`);
    // head was read before the snapshot, so the snapshot may already include what follows it.
    this.hub.observer.snapshotSent();
    this.begin(connection, subscription, stream.epoch, stream.head, { recovering: true, recovered: false, snapshot });
  }

  private begin(
    connection: Connection,
    subscription: HubSubscription,
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
    subscription: HubSubscription,
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
    return connection.session?.cursors?.get(topic);
  }

  /** PROTOCOL.md, Recovery: an empty position (offset 0) missed nothing, whatever its epoch. */
  private recoverable(settings: ResolvedTopic, position: { epoch: string; offset: number }, info: StreamInfo): boolean {
    if (position.epoch !== info.epoch && position.offset !== 0) return false;
    return settings.mode === 'latest' || position.offset >= info.first - 1;
  }
}
