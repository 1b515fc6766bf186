import {
  CloseCode,
  ErrorCode,
  isHoldfastError,
  isValidTopic,
  checkPayload,
  framedPayloadError,
  type Clock,
  type ErrorBody,
  type PubFrame,
  type ReqFrame,
} from '../protocol/index.js';
import type { KeptReply, RequestOutcome, Store } from '../store/types.js';
import { AppendCancelled, type AppendBatcher } from './append-batcher.js';
import type { Connection } from './connection.js';
import type { SafeObserver } from './observer.js';
import type { RequestHandler, ResolvedLimits } from './options.js';
import { dedupKey } from './reply.js';
import type { RequestRuns, RunResult } from './request-runs.js';
import type { HubSession } from './session-directory.js';
import type { SessionSaves } from './session-saves.js';
import { settleBudget, storedEntry } from './stored-entry.js';
import type { ResolvedTopic, TopicDirectory } from './topics.js';

/** What the inbound path needs of the hub. */
export interface InboundContext {
  readonly clock: Clock;
  readonly limits: ResolvedLimits;
  readonly dedupWindow: number;
  readonly handlers: Readonly<Record<string, RequestHandler>>;
  readonly onError: (error: unknown) => void;
  readonly observer: Pick<SafeObserver, 'messageIn'>;
  readonly store: Pick<Store, 'claimIds' | 'broadcast'>;
  readonly topics: Pick<TopicDirectory, 'resolve'>;
  readonly appends: Pick<AppendBatcher, 'push'>;
  readonly saves: Pick<SessionSaves, 'request'>;
  readonly requests: Pick<RequestRuns, 'outcome'>;
  authorized(connection: Connection, topic: string, action: 'subscribe' | 'publish'): boolean | Promise<boolean>;
}

type ReliablePub = PubFrame & { seq: number; id: string };

/**
 * Client-to-server frames: `pub` (reliable or fire-and-forget) and `req`. Reliable frames are
 * processed once per session `seq` and once per `id` within the de-duplication window, then
 * acknowledged cumulatively (PROTOCOL.md, `ack`).
 */
export class Inbound {
  constructor(private readonly hub: InboundContext) {}

  pub(connection: Connection, frame: PubFrame, text: string): void {
    const session = connection.session!;
    if (frame.seq === undefined) {
      this.inOrder(connection, session, text.length, () => this.fireAndForget(connection, frame, text));
      return;
    }
    if (!this.isNew(connection, frame.seq)) return;
    session.acks.begin(frame.seq);
    const { generation } = session;
    // Checks may be asynchronous; the session queue keeps publishes in the order they were sent.
    this.inOrder(connection, session, text.length, () => this.reliablePub(connection, session, frame as ReliablePub, text, generation));
  }

  req(connection: Connection, frame: ReqFrame, text: string): void {
    const session = connection.session!;
    if (!this.isNew(connection, frame.seq)) return;
    session.acks.begin(frame.seq);
    // The frame (and its data) lives as long as the handler runs: requests in progress are bounded in bytes.
    connection.chargeInflight(session, text.length);
    this.runRequest(session, connection, frame, text)
      .catch((error: unknown) => {
        this.hub.onError(error);
        this.finish(session, frame.seq, { ok: false, error: { code: ErrorCode.Internal, message: 'internal server error' } });
      })
      .finally(() => (session.connection ?? connection).dischargeInflight(session, text.length))
      .catch(this.hub.onError);
  }

  /** Answers a resend of a processed frame; true for a frame never seen. */
  private isNew(connection: Connection, seq: number): boolean {
    const { acks } = connection.session!;
    const { ledger } = acks;
    const ahead = this.hub.limits.maxSeqAhead;
    if (seq > ledger.lastSeq + ahead) {
      // Skipping seqs would grow the ledger without bound; no client numbering from 1 does this.
      connection.fail(ErrorCode.InvalidFrame, CloseCode.ProtocolViolation, `seq ${seq} is more than ${ahead} ahead of the last processed (${ledger.lastSeq})`);
      return false;
    }
    const status = ledger.status(seq);
    if (status === 'done') acks.resent(seq);
    return status === 'new';
  }

  /** Synchronous when the checks are: no promise per publish on the usual path. */
  private reliablePub(connection: Connection, session: HubSession, frame: ReliablePub, text: string, generation: number): Promise<void> | void {
    // The store failed an earlier frame of the session: this one waits for the client to send it again.
    if (session.generation !== generation) return this.abandon(connection, session, frame.seq);
    let checked: ReturnType<Inbound['check']>;
    try {
      checked = this.check(connection, frame.topic, frame.data, text);
    } catch (error) {
      // An application hook (the topic table) threw: the frame is answered, never left pending.
      this.hub.onError(error);
      return this.finish(session, frame.seq, { ok: false, error: { code: ErrorCode.Internal, message: 'internal server error' } });
    }
    if (checked instanceof Promise) return checked.then((settings) => this.storePub(connection, session, frame, settings, text.length, generation));
    this.storePub(connection, session, frame, checked, text.length, generation);
  }

  /** `size`: the frame's length, a bound on its data's size that a store counting bytes can take as it is. */
  private storePub(connection: Connection, session: HubSession, frame: ReliablePub, settings: ResolvedTopic | ErrorBody, size: number, generation: number): void {
    const { hub } = this;
    if (session.generation !== generation) return this.abandon(connection, session, frame.seq);
    if (!('mode' in settings)) return this.finish(session, frame.seq, { ok: false, error: settings });
    hub.observer.messageIn(settings.mode);
    const key = dedupKey(session.identity, frame.id);
    if (settings.mode === 'volatile') {
      // Nothing is stored, so the id is claimed on its own to keep a resend from a new session out.
      hub.store
        .claimIds([key], hub.dedupWindow, hub.clock.now())
        .then(([fresh]) => (fresh ? hub.store.broadcast(message(frame)) : undefined))
        .then(
          () => this.finish(session, frame.seq),
          (error: unknown) => this.storeFailed(connection, session, frame.seq, error),
        );
      return;
    }
    const entry = storedEntry(this.hub, connection, frame, settings, size, key);
    // One callback for both outcomes: a closure per publish, not two.
    hub.appends.push(
      entry,
      (result, error) => {
        const refused = settleBudget(this.hub, connection, entry, result);
        if (result === undefined) this.storeFailed(connection, session, frame.seq, error);
        else this.finish(session, frame.seq, refused === undefined ? undefined : { ok: false, error: refused });
      },
      session,
      generation,
    );
  }

  /**
   * The store failed a reliable frame. A full store (STORE_FULL, which the operator must see) is
   * the frame's answer, like any refusal. Any other failure is not: the frame is left unprocessed,
   * the session's frames taken in after it are abandoned too (so none is stored ahead of it), and
   * the connection is closed with STORE_UNAVAILABLE (4503, retryable). The client keeps every
   * unacknowledged frame in its outbox and sends them again, in order, once it is back: nothing
   * is acknowledged during an outage, and nothing is lost.
   */
  private storeFailed(connection: Connection, session: HubSession, seq: number, error: unknown): void {
    if (error instanceof AppendCancelled) return this.abandon(connection, session, seq);
    this.hub.onError(error);
    if (isHoldfastError(error) && error.code === ErrorCode.StoreFull) return this.finish(session, seq, { ok: false, error: error.toBody() });
    session.generation++;
    this.abandon(connection, session, seq);
  }

  /**
   * `seq` will not be processed now. Whichever connection holds the session is closed, so that the
   * client sends it again (a resend that arrived meanwhile was ignored as in progress).
   */
  private abandon(connection: Connection, session: HubSession, seq: number): void {
    session.acks.abandon(seq);
    const holder = session.replaced ? null : (session.connection ?? connection);
    holder?.fail(ErrorCode.StoreUnavailable, CloseCode.Unavailable, 'the store failed; connect again: frames not acknowledged are sent again', 1000);
  }

  private async fireAndForget(connection: Connection, frame: PubFrame, text: string): Promise<void> {
    const { hub } = this;
    const checked = this.check(connection, frame.topic, frame.data, text);
    const settings = checked instanceof Promise ? await checked : checked;
    const about = { topic: frame.topic, for: 'pub' as const };
    if (!('mode' in settings)) return connection.refuse(settings.code, settings.message, about);
    hub.observer.messageIn(settings.mode);
    const failed = (error: unknown) => {
      hub.onError(error);
      const failure = storeFailure(error);
      connection.refuse(failure.code, failure.message, about);
    };
    if (settings.mode === 'volatile') hub.store.broadcast(message(frame)).catch(failed);
    else {
      const entry = storedEntry(this.hub, connection, frame, settings, text.length);
      hub.appends.push(entry, (result, error) => {
        const refused = settleBudget(this.hub, connection, entry, result);
        if (result === undefined) failed(error);
        else if (refused !== undefined) connection.refuse(refused.code, refused.message, about);
      });
    }
  }

  private async runRequest(session: HubSession, connection: Connection, frame: ReqFrame, text: string): Promise<void> {
    const { hub } = this;
    const reply = ({ outcome, bytes }: RunResult) => this.finish(session, frame.seq, outcome, frame.id, bytes);
    const handler = hub.handlers[frame.method];
    if (handler === undefined || !Object.hasOwn(hub.handlers, frame.method)) {
      return reply({ outcome: { ok: false, error: { code: ErrorCode.UnknownMethod, message: `no handler for method "${frame.method}"` } } });
    }
    const invalid = framedPayloadError(frame.data, text, hub.limits);
    if (invalid !== undefined) return reply({ outcome: { ok: false, error: invalid } });
    let result: RunResult;
    try {
      // Run here, or the outcome of the run that claimed this id first (any session, any node).
      result = await hub.requests.outcome(dedupKey(session.identity, frame.id), () => this.handle(handler, frame, session, connection));
    } catch (error) {
      // The id could not be claimed: the handler did not run, and the request is sent again.
      hub.onError(error);
      return this.abandon(connection, session, frame.seq);
    }
    reply(result);
  }

  /** Runs a handler; its result must be a reply the wire can carry. `bytes`: the size of its data, measured here anyway. */
  private async handle(handler: RequestHandler, frame: ReqFrame, session: HubSession, connection: Connection): Promise<RunResult> {
    const { hub } = this;
    try {
      const data = await handler(frame.data, { identity: connection.identity, session: session.id, method: frame.method });
      // A reply is bounded by maxKeptReplyBytes, not maxPayload; it must still be JSON the client can parse.
      const bytes = checkPayload(data ?? null, { maxPayload: Infinity, maxDepth: hub.limits.maxDepth });
      if (typeof bytes !== 'number') {
        hub.onError(new Error(`the "${frame.method}" handler returned a value JSON cannot carry`));
        return { outcome: { ok: false, error: { code: ErrorCode.HandlerError, message: 'the request handler returned an invalid reply' } } };
      }
      return { outcome: { ok: true, data: data === undefined ? null : data }, bytes };
    } catch (error) {
      if (!isHoldfastError(error)) hub.onError(error);
      return { outcome: { ok: false, error: isHoldfastError(error) ? error.toBody() : { code: ErrorCode.HandlerError, message: 'the request handler failed' } } };
    }
  }

  /** The topic's settings when the publish may go ahead, or why not. */
  private check(connection: Connection, topic: string, data: unknown, text: string): ResolvedTopic | ErrorBody | Promise<ResolvedTopic | ErrorBody> {
    const { hub } = this;
    if (!isValidTopic(topic)) return { code: ErrorCode.InvalidTopic, message: 'topic names have 1 to 256 characters and no control characters' };
    const settings = hub.topics.resolve(topic);
    if (settings === undefined) return { code: ErrorCode.UnknownTopic, message: `unknown topic "${topic}"` };
    const invalid = framedPayloadError(data, text, hub.limits);
    if (invalid !== undefined) return invalid;
    const forbidden = { code: ErrorCode.Forbidden, message: `not allowed to publish to "${topic}"` };
    const allowed = hub.authorized(connection, topic, 'publish');
    if (allowed instanceof Promise) return allowed.then((yes) => (yes ? settings : forbidden));
    return allowed ? settings : forbidden;
  }

  /**
   * Records a frame as processed. Its reply, then the ack covering it, go out once the session
   * record that records them is saved (SessionSaves, then AckPath.durable): a server that dies in
   * between must not have told the client more than its store remembers.
   */
  private finish(session: HubSession, seq: number, outcome?: RequestOutcome, id?: string, bytes?: number): void {
    const reply: KeptReply | undefined = outcome === undefined ? undefined : id === undefined ? { seq, ...outcome } : { seq, id, ...outcome };
    const { acks } = session;
    acks.processed(seq, reply, bytes);
    // A client that never confirms replies must not grow the session without bound, in count or bytes: it waits.
    const { maxKeptReplies, maxKeptReplyBytes } = this.hub.limits;
    if (acks.ledger.isFull(maxKeptReplies, maxKeptReplyBytes)) session.connection?.deferReplies();
    // A session taken over meanwhile writes no more: its new holder has the request's outcome from the store.
    this.hub.saves.request(session);
  }

  /**
   * Runs session work strictly in arrival order. Work that finishes synchronously runs at once; work
   * that returns a promise holds the queue until it settles.
   */
  private inOrder(connection: Connection, session: HubSession, bytes: number, work: () => Promise<void> | void): void {
    // Waiting work holds its frame: behind a slow (asynchronous) check the queue is bounded in bytes.
    connection.chargeInflight(session, bytes);
    session.inbound.push(work);
    session.inboundBytes.push(bytes);
    if (!session.inboundRunning) this.drain(session, connection);
  }

  /** Runs the queue; each piece of work gives its frame's bytes back when it is done. */
  private drain(session: HubSession, connection: Connection): void {
    session.inboundRunning = true;
    for (let work = session.inbound.shift(); work !== undefined; work = session.inbound.shift()) {
      const bytes = session.inboundBytes.shift()!;
      let pending: Promise<void> | void = undefined;
      try {
        pending = work();
      } catch (error) {
        this.hub.onError(error);
      }
      if (pending instanceof Promise) {
        pending
          .catch(this.hub.onError)
          .then(() => {
            (session.connection ?? connection).dischargeInflight(session, bytes);
            this.drain(session, connection);
          });
        return; // still running: later work waits in the queue
      }
      (session.connection ?? connection).dischargeInflight(session, bytes);
    }
    session.inboundRunning = false;
  }
}

/** STORE_FULL (a full disk, which the operator must see) passes through; any other failure is STORE_UNAVAILABLE. */
function storeFailure(error: unknown): ErrorBody {
  if (isHoldfastError(error) && error.code === ErrorCode.StoreFull) return error.toBody();
  return { code: ErrorCode.StoreUnavailable, message: 'the store failed; the message was not stored' };
}

function message(frame: PubFrame): { topic: string; data: unknown; key?: string } {
  return frame.key === undefined ? { topic: frame.topic, data: frame.data } : { topic: frame.topic, data: frame.data, key: frame.key };
}
