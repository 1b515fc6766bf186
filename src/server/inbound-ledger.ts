import { payloadSize } from '../protocol/index.js';
import type { KeptReply } from '../store/types.js';

/** What the server knows of a client `seq`. */
export type SeqStatus = 'new' | 'pending' | 'done';

/** What `replies` shows before any reply is kept (read-only, so one serves every ledger). */
const NO_REPLIES: ReadonlyMap<number, KeptReply> = new Map();

/**
 * The server's record of a session's reliable client frames: which `seq`s are processed
 * (cumulatively, plus the ones finished out of order), which are in progress, and the replies
 * kept until the client confirms them. Pure logic; the session persists its fields.
 *
 * Work in progress belongs to the session, not the connection: a frame resent while its first copy
 * is still being processed is ignored, and the outcome goes to whichever connection holds the
 * session when it is ready.
 */
export class InboundLedger {
  lastSeq: number;
  // The collections are created when first needed: a session that never publishes, never finishes
  // a frame out of order or never keeps a reply has none, and each empty Set or Map costs every
  // idle connection about 200 bytes.
  private doneAbove: Set<number> | undefined;
  private pending: Set<number> | undefined;
  private kept: Map<number, KeptReply> | undefined;
  /** Size of each kept reply, by seq: not a field of the reply, which the store saves as it is. */
  private keptSizes: Map<number, number> | undefined;
  /** Bytes of the kept replies' data (or errors), as replySize counts them. */
  keptBytes = 0;

  constructor(lastSeq = 0, doneAbove: readonly number[] = [], replies: readonly KeptReply[] = []) {
    this.lastSeq = lastSeq;
    if (doneAbove.length > 0) this.doneAbove = new Set(doneAbove);
    for (const reply of replies) this.keep(reply, replySize(reply));
  }

  /** Replies kept until the client confirms them, by seq. */
  get replies(): ReadonlyMap<number, KeptReply> {
    return this.kept ?? NO_REPLIES;
  }

  status(seq: number): SeqStatus {
    if (seq <= this.lastSeq || this.doneAbove?.has(seq) === true) return 'done';
    return this.pending?.has(seq) === true ? 'pending' : 'new';
  }

  /** Whether any frame is still being processed. */
  hasPending(): boolean {
    return this.pending !== undefined && this.pending.size > 0;
  }

  begin(seq: number): void {
    // Kept once created: a publishing session would otherwise make a new Set for every frame.
    (this.pending ??= new Set()).add(seq);
  }

  /** `seq` was not processed after all (the store failed): a resend of it is new again. */
  abandon(seq: number): void {
    this.pending?.delete(seq);
  }

  /**
   * Marks `seq` processed, keeping its reply when there is one; returns whether lastSeq moved.
   * `bytes` is the reply's size when the caller measured it already (replySize otherwise).
   */
  complete(seq: number, reply?: KeptReply, bytes?: number): boolean {
    this.pending?.delete(seq);
    if (reply !== undefined) this.keep(reply, bytes ?? replySize(reply));
    if (seq !== this.lastSeq + 1) {
      if (seq > this.lastSeq) (this.doneAbove ??= new Set()).add(seq);
      return false;
    }
    this.lastSeq = seq;
    const doneAbove = this.doneAbove;
    if (doneAbove !== undefined) while (doneAbove.delete(this.lastSeq + 1)) this.lastSeq++;
    return true;
  }

  /** The client received these replies; returns the ones that were kept. */
  confirmReplies(seqs: readonly number[]): KeptReply[] {
    const confirmed: KeptReply[] = [];
    const kept = this.kept;
    if (kept === undefined) return confirmed;
    for (const seq of seqs) {
      const reply = kept.get(seq);
      if (reply === undefined || !kept.delete(seq)) continue;
      confirmed.push(reply);
      this.keptBytes -= this.keptSizes?.get(seq) ?? 0;
      this.keptSizes?.delete(seq);
    }
    return confirmed;
  }

  /** Whether the kept replies reached either bound: the connection should stop reading until confirmations. */
  isFull(maxReplies: number, maxBytes: number): boolean {
    return this.replies.size >= maxReplies || this.keptBytes >= maxBytes;
  }

  private keep(reply: KeptReply, bytes: number): void {
    const kept = (this.kept ??= new Map());
    const sizes = (this.keptSizes ??= new Map());
    this.keptBytes += bytes - (sizes.get(reply.seq) ?? 0); // a seq kept again replaces its reply
    kept.set(reply.seq, reply);
    sizes.set(reply.seq, bytes);
  }

  doneAboveList(): number[] {
    return this.doneAbove === undefined ? [] : [...this.doneAbove];
  }
}


/** What a kept reply weighs against maxKeptReplyBytes: the UTF-8 JSON of its data, or of its error. */
export function replySize(reply: KeptReply): number {
  try {
    return reply.ok ? payloadSize(reply.data ?? null) : payloadSize(reply.error ?? null);
  } catch {
    return 0; // not JSON: it cannot be sent either, and is counted by maxKeptReplies alone
  }
}
