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

  constructor(lastSeq = 0, doneAbove: readonly number[] = [], replies: readonly KeptReply[] = []) {
    this.lastSeq = lastSeq;
    if (doneAbove.length > 0) this.doneAbove = new Set(doneAbove);
    if (replies.length > 0) this.kept = new Map(replies.map((reply) => [reply.seq, reply]));
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

  /** Marks `seq` processed, keeping its reply when there is one; returns whether lastSeq moved. */
  complete(seq: number, reply?: KeptReply): boolean {
    this.pending?.delete(seq);
    if (reply !== undefined) (this.kept ??= new Map()).set(seq, reply);
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
      if (reply !== undefined && kept.delete(seq)) confirmed.push(reply);
    }
    return confirmed;
  }

  doneAboveList(): number[] {
    return this.doneAbove === undefined ? [] : [...this.doneAbove];
  }
}

