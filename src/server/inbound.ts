import {
  ErrorCode,
  isHoldfastError,
  isValidTopic,
  payloadSize,
  type ErrorBody,
  type PubFrame,
  type ReplyFrame,
  type ReqFrame,
} from '../protocol/index.js';
import type { KeptReply } from '../store/types.js';
import type { Connection } from './connection.js';
import type { Hub } from './hub.js';
import type { Session } from './session.js';
import type { ResolvedTopic } from './topics.js';

/**
 * Client-to-server frames: `pub` (reliable or fire-and-forget) and `req`. Reliable frames are
 * processed once per session `seq` and once per `id` within the de-duplication window, then
 * acknowledged cumulatively (PROTOCOL.md, `ack`).
 */
export class Inbound {
  constructor(private readonly hub: Hub) {}

  pub(connection: Connection, frame: PubFrame, frameLength: number): void {
    const session = connection.session!;
    if (frame.seq === undefined) {
      this.inOrder(session, () => this.fireAndForget(connection, frame, frameLength));
      return;
    }
    const seq = frame.seq;
    if (!this.isNew(connection, seq)) return;
    session.ledger.begin(seq);
    // Checks may be asynchronous; the session queue keeps publishes in the order they were sent.
    this.inOrder(session, () => this.reliablePub(connection, session, frame as PubFrame & { seq: number; id: string }, frameLength));
  }

  req(connection: Connection, frame: ReqFrame, frameLength: number): void {
    const session = connection.session!;
    if (!this.isNew(connection, frame.seq)) return;
    session.ledger.begin(frame.seq);
    void this.runRequest(session, connection, frame, frameLength);
  }

  /** Answers a resend of a processed or in-progress frame; true for a frame never seen. */
  private isNew(connection: Connection, seq: number): boolean {
    const session = connection.session!;
    const status = session.ledger.status(seq);
    if (status === 'done') {
      const kept = session.ledger.replies.get(seq);
      if (kept !== undefined) connection.send(replyFrame(kept));
      connection.ackOwed = true;
      this.hub.acks.note(connection);
    }
    return status === 'new';
  }

  private async reliablePub(connection: Connection, session: Session, frame: PubFrame & { seq: number; id: string }, frameLength: number): Promise<void> {
    const { hub } = this;
    const checked = this.check(connection, frame.topic, frame.data, frameLength);
    const refusal = checked instanceof Promise ? await checked : checked;
    if (typeof refusal !== 'object' || !('mode' in refusal)) return this.finish(session, frame.seq, { ok: false, error: refusal });
    const settings = refusal;
    const done = () => this.finish(session, frame.seq);
    const failed = (error: unknown) => {
      hub.options.onError(error);
      this.finish(session, frame.seq, { ok: false, error: { code: ErrorCode.StoreUnavailable, message: 'the store failed; the message was not stored' } });
    };
    if (settings.mode === 'volatile') {
      hub.store.broadcast(message(frame)).then(done, failed);
      return;
    }
    hub.appends
      .add({
        ...message(frame),
        compact: settings.mode === 'latest',
        dedupKey: dedupKey(session, frame.id),
        dedupTtlMs: hub.options.dedupWindow,
        time: hub.clock.now(),
      })
      .then(done, failed);
  }

  private async fireAndForget(connection: Connection, frame: PubFrame, frameLength: number): Promise<void> {
    const { hub } = this;
    const checked = this.check(connection, frame.topic, frame.data, frameLength);
    const settings = checked instanceof Promise ? await checked : checked;
    if (!('mode' in settings)) return hub.refuse(connection, settings.code, settings.message, { topic: frame.topic, for: 'pub' });
    const failed = (error: unknown) => {
      hub.options.onError(error);
      hub.refuse(connection, ErrorCode.StoreUnavailable, 'the store failed; the message was not stored', { topic: frame.topic, for: 'pub' });
    };
    if (settings.mode === 'volatile') hub.store.broadcast(message(frame)).catch(failed);
    else hub.appends.add({ ...message(frame), compact: settings.mode === 'latest', time: hub.clock.now() }).catch(failed);
  }

  private async runRequest(session: Session, connection: Connection, frame: ReqFrame, frameLength: number): Promise<void> {
    const { hub } = this;
    const handler = hub.options.handlers[frame.method];
    if (handler === undefined || !Object.hasOwn(hub.options.handlers, frame.method)) {
      return this.finish(session, frame.seq, { ok: false, error: { code: ErrorCode.UnknownMethod, message: `no handler for method "${frame.method}"` } });
    }
    const tooLarge = this.payloadError(frame.data, frameLength);
    if (tooLarge !== undefined) return this.finish(session, frame.seq, { ok: false, error: tooLarge });
    try {
      const [fresh] = await hub.store.claimIds([dedupKey(session, frame.id)], hub.options.dedupWindow, hub.clock.now());
      if (!fresh) {
        const error = { code: ErrorCode.DuplicateRequest, message: 'this request was already processed in an earlier session' };
        return this.finish(session, frame.seq, { ok: false, error });
      }
    } catch (error) {
      hub.options.onError(error);
      return this.finish(session, frame.seq, { ok: false, error: { code: ErrorCode.StoreUnavailable, message: 'the store failed; send the request again' } });
    }
    try {
      const data = await handler(frame.data, { identity: connection.identity, session: session.id, method: frame.method });
      this.finish(session, frame.seq, { ok: true, data: data === undefined ? null : data });
    } catch (error) {
      if (!isHoldfastError(error)) hub.options.onError(error);
      const body = isHoldfastError(error) ? error.toBody() : { code: ErrorCode.HandlerError, message: 'the request handler failed' };
      this.finish(session, frame.seq, { ok: false, error: body });
    }
  }

  /** The topic's settings when the publish may go ahead, or why not. */
  private check(connection: Connection, topic: string, data: unknown, frameLength: number): ResolvedTopic | ErrorBody | Promise<ResolvedTopic | ErrorBody> {
    const { hub } = this;
    if (!isValidTopic(topic)) return { code: ErrorCode.InvalidTopic, message: 'topic names have 1 to 256 characters and no control characters' };
    const settings = hub.topics.resolve(topic);
    if (settings === undefined) return { code: ErrorCode.UnknownTopic, message: `unknown topic "${topic}"` };
    const tooLarge = this.payloadError(data, frameLength);
    if (tooLarge !== undefined) return tooLarge;
    const forbidden = { code: ErrorCode.Forbidden, message: `not allowed to publish to "${topic}"` };
    const allowed = hub.authorized(connection, topic, 'publish');
    if (allowed instanceof Promise) return allowed.then((yes) => (yes ? settings : forbidden));
    return allowed ? settings : forbidden;
  }

  private payloadError(data: unknown, frameLength: number): ErrorBody | undefined {
    const max = this.hub.options.limits.maxPayload;
    // A frame of at most max/3 characters cannot hold more than max UTF-8 bytes: skip measuring.
    if (frameLength * 3 <= max || payloadSize(data) <= max) return undefined;
    return { code: ErrorCode.PayloadTooLarge, message: `data is larger than ${max} bytes` };
  }

  /** Records a frame as processed, sends its reply first and then (batched) the ack covering it. */
  private finish(session: Session, seq: number, outcome?: Omit<KeptReply, 'seq'>): void {
    const reply = outcome === undefined ? undefined : { seq, ...outcome };
    const { ledger } = session;
    ledger.complete(seq, reply);
    if (ledger.replies.size > this.hub.options.limits.maxKeptReplies) {
      // A client that never confirms replies must not grow the session without bound.
      const oldest = ledger.replies.keys().next().value;
      if (oldest !== undefined) ledger.replies.delete(oldest);
    }
    const connection = session.connection;
    if (connection !== null) {
      if (reply !== undefined) connection.send(replyFrame(reply));
      if (ledger.hasPending()) {
        this.hub.acks.note(connection);
      } else {
        // Caught up with everything received: waiting longer would only delay the client's window.
        this.hub.acks.forget(connection);
        connection.flushAck();
      }
    }
    this.hub.persist(session);
  }

  /** Runs session work strictly in arrival order, waiting only for work that is asynchronous. */
  private inOrder(session: Session, work: () => Promise<void> | void): void {
    session.inbound.push(work);
    if (!session.inboundRunning) void this.drain(session);
  }

  private async drain(session: Session): Promise<void> {
    session.inboundRunning = true;
    try {
      for (let work = session.inbound.shift(); work !== undefined; work = session.inbound.shift()) {
        try {
          const pending = work();
          if (pending instanceof Promise) await pending;
        } catch (error) {
          this.hub.options.onError(error);
        }
      }
    } finally {
      session.inboundRunning = false;
    }
  }
}

function message(frame: PubFrame): { topic: string; data: unknown; key?: string } {
  return frame.key === undefined ? { topic: frame.topic, data: frame.data } : { topic: frame.topic, data: frame.data, key: frame.key };
}

/** Ids are scoped to the identity, so one client cannot suppress another's messages by reusing ids. */
function dedupKey(session: Session, id: string): string {
  return `${session.identity?.id ?? ''}\u0000${id}`;
}

function replyFrame(reply: KeptReply): ReplyFrame {
  return reply.ok
    ? { type: 'reply', seq: reply.seq, ok: true, data: reply.data }
    : { type: 'reply', seq: reply.seq, ok: false, error: reply.error ?? { code: ErrorCode.Internal, message: 'unknown error' } };
}
