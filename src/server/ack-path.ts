import type { ServerFrame } from '../protocol/index.js';
import type { KeptReply, SessionUpdate } from '../store/types.js';
import type { AckTarget } from './ack-scheduler.js';
import { InboundLedger } from './inbound-ledger.js';
import { replyFrame } from './reply.js';

/** Where a session's replies and acks go: the connection holding it. */
export interface AckSink {
  send(frame: ServerFrame): void;
  isOpen(): boolean;
}

/** The session an AckPath belongs to, as far as the path needs it. */
export interface AckOwner {
  readonly connection: AckSink | null;
}

/** The hub's one ack timer (AckScheduler), shared by every session. */
export interface AckTimer {
  note(target: AckTarget): void;
  forget(target: AckTarget): void;
  /** An `ack` frame went out (for metrics). */
  ackSent?(): void;
}

/**
 * A session's acknowledgement path, end to end: which client frames are processed (the ledger),
 * which of that the store has saved, and the `reply` and `ack` frames that may say so. Nothing is
 * told to the client before the store has it: a server that dies in between must not have
 * acknowledged more than a resumed session remembers, or the frames between would never come again.
 *
 *   processed(seq) ─▶ takeChanges() ─▶ [store saves the session] ─▶ durable() ─▶ replies, then the ack
 */
export class AckPath implements AckTarget {
  readonly ledger: InboundLedger;
  /** lastSeq as of the last record the store saved: acks never claim more than that. */
  persistedSeq: number;
  /** Replies waiting for the save that keeps them; sent once it succeeded. */
  private unsent: KeptReply[] | undefined;
  /** seqs of kept replies the client confirmed since the last save: the next save removes them. */
  private confirmed: number[] | undefined;
  /** Kept replies written to the store again (keepAllAgain) that the client already has. */
  private rewritten: Set<KeptReply> | undefined;
  /** The ledger changed since the last save. */
  private moved = false;
  /** The ack last sent to the current connection, and whether one is owed anyway (a resend). */
  private lastAckSent = 0;
  private owed = false;

  constructor(
    private readonly owner: AckOwner,
    private readonly timer: AckTimer,
    ledger: InboundLedger = new InboundLedger(),
  ) {
    this.ledger = ledger;
    this.persistedSeq = ledger.lastSeq;
  }

  /** Whether the next save has anything of this path to write. */
  get changed(): boolean {
    return this.moved || this.unsent !== undefined || this.confirmed !== undefined;
  }

  /** `seq` is being processed: a resend of it meanwhile is ignored. */
  begin(seq: number): void {
    this.ledger.begin(seq);
  }

  /** `seq` was not processed after all (the store failed): the client sends it again, and it is new then. */
  abandon(seq: number): void {
    this.ledger.abandon(seq);
  }

  /** `seq` is processed, with its reply when it has one (`bytes`: the reply's size, when measured). */
  processed(seq: number, reply?: KeptReply, bytes?: number): void {
    this.ledger.complete(seq, reply, bytes);
    this.moved = true;
    if (reply !== undefined) (this.unsent ??= []).push(reply);
  }

  /**
   * A frame the client sent again although it is processed (it had not seen the ack): its kept
   * reply goes out again (unless it still waits for its save, after which it goes out anyway), and
   * an ack follows even if the acknowledged seq did not move.
   */
  resent(seq: number): void {
    const kept = this.ledger.replies.get(seq);
    if (kept !== undefined && this.unsent?.includes(kept) !== true) this.owner.connection?.send(replyFrame(kept));
    this.owed = true;
    this.soon();
  }

  /** The client received these replies; returns the ones that were kept (the next save forgets them). */
  confirm(seqs: readonly number[]): KeptReply[] {
    const confirmed = this.ledger.confirmReplies(seqs);
    if (confirmed.length > 0) (this.confirmed ??= []).push(...confirmed.map((reply) => reply.seq));
    return confirmed;
  }

  /** The record was written anew: the next save writes the ledger and every kept reply again. */
  keepAllAgain(): void {
    this.moved = true;
    const unsent = this.unsent ?? [];
    const again = [...this.ledger.replies.values()].filter((reply) => !unsent.includes(reply));
    if (again.length === 0) return;
    // Saved again, not sent again: the client has had them.
    this.rewritten = new Set(again);
    this.unsent = [...again, ...unsent];
    this.confirmed = undefined;
  }

  /** Moves this path's changes into `update` (the ledger, replies kept and confirmed). */
  takeChanges(update: SessionUpdate): void {
    if (this.moved) update.ledger = { lastSeq: this.ledger.lastSeq, doneAbove: this.ledger.doneAboveList() };
    if (this.unsent !== undefined) update.addReplies = this.unsent;
    if (this.confirmed !== undefined) update.removeReplies = this.confirmed;
    this.moved = false;
    this.unsent = this.confirmed = undefined;
  }

  /** The save of `update` failed: its changes go into the next one, before anything newer. */
  restoreChanges(update: SessionUpdate): void {
    if (update.ledger !== undefined) this.moved = true;
    if (update.addReplies !== undefined) this.unsent = this.unsent === undefined ? update.addReplies : [...update.addReplies, ...this.unsent];
    if (update.removeReplies !== undefined) this.confirmed = this.confirmed === undefined ? update.removeReplies : [...update.removeReplies, ...this.confirmed];
  }

  /** The store saved `update`: the replies it keeps go out, then the ack it vouches for. */
  durable(update: SessionUpdate): void {
    if (update.ledger !== undefined) this.persistedSeq = Math.max(this.persistedSeq, update.ledger.lastSeq);
    const sink = this.owner.connection;
    if (sink === null || !sink.isOpen()) return; // kept: a resend or a resume gets them
    const { rewritten } = this;
    if (update.addReplies !== undefined) for (const reply of update.addReplies) if (rewritten?.has(reply) !== true) sink.send(replyFrame(reply));
    this.rewritten = undefined;
    this.soon();
  }

  /** Acks at once when every frame received is processed; otherwise batched by the hub's ack timer. */
  soon(): void {
    if (this.ledger.hasPending()) return this.timer.note(this);
    // Caught up with everything received: waiting longer would only delay the client's window.
    this.timer.forget(this);
    this.flushAck();
  }

  /** Sends the cumulative ack now, if it says something new (or one is owed). */
  flushAck(): void {
    const sink = this.owner.connection;
    if (sink === null || !sink.isOpen()) return;
    const seq = Math.min(this.ledger.lastSeq, this.persistedSeq);
    if (seq === this.lastAckSent && !this.owed) return;
    this.owed = false;
    this.lastAckSent = seq;
    sink.send({ type: 'ack', seq });
    this.timer.ackSent?.();
  }

  /** A new connection holds the session: it has been told nothing yet. */
  attached(): void {
    this.lastAckSent = 0;
    this.owed = false;
  }

  /** The connection let go of the session: no ack timer for it. */
  detached(): void {
    this.timer.forget(this);
  }
}
