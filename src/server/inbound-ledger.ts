import type { KeptReply } from '../store/types.js';

/** What the server knows of a client `seq`. */
export type SeqStatus = 'new' | 'pending' | 'done';

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
  private readonly doneAbove: Set<number>;
  private readonly pending = new Set<number>();
  readonly replies: Map<number, KeptReply>;

  constructor(lastSeq = 0, doneAbove: number[] = [], replies: KeptReply[] = []) {
    this.lastSeq = lastSeq;
    this.doneAbove = new Set(doneAbove);
    this.replies = new Map(replies.map((reply) => [reply.seq, reply]));
  }

  status(seq: number): SeqStatus {
    if (seq <= this.lastSeq || this.doneAbove.has(seq)) return 'done';
    return this.pending.has(seq) ? 'pending' : 'new';
  }

  /** Whether any frame is still being processed. */
  hasPending(): boolean {
    return this.pending.size > 0;
  }

  begin(seq: number): void {
    this.pending.add(seq);
  }

  /** Marks `seq` processed, keeping its reply when there is one; returns whether lastSeq moved. */
  complete(seq: number, reply?: KeptReply): boolean {
    this.pending.delete(seq);
    if (reply !== undefined) this.replies.set(seq, reply);
    if (seq !== this.lastSeq + 1) {
      if (seq > this.lastSeq) this.doneAbove.add(seq);
      return false;
    }
    this.lastSeq = seq;
    while (this.doneAbove.delete(this.lastSeq + 1)) this.lastSeq++;
    return true;
  }

  /** The client received these replies; returns the ones that were kept. */
  confirmReplies(seqs: readonly number[]): KeptReply[] {
    const confirmed: KeptReply[] = [];
    for (const seq of seqs) {
      const reply = this.replies.get(seq);
      if (reply !== undefined && this.replies.delete(seq)) confirmed.push(reply);
    }
    return confirmed;
  }

  doneAboveList(): number[] {
    return [...this.doneAbove];
  }
}
