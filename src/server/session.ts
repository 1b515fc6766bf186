import type { KeptReply, SessionRecord } from '../store/types.js';
import { InboundLedger } from './inbound-ledger.js';
import type { Identity } from './options.js';
import { hashToken, randomId } from './tokens.js';
import type { Connection } from './connection.js';

export interface Cursor {
  epoch: string;
  offset: number;
}

/**
 * Server-side state that outlives a connection: identity, the resume token's hash, the inbound
 * ledger and the cursors of its subscriptions. At most one connection holds it at a time.
 */
export class Session {
  readonly id: string;
  readonly identity: Identity | null;
  tokenHash: string;
  /** null while a connection holds the session. */
  expiresAt: number | null;
  readonly ledger: InboundLedger;
  /** Per topic, the client's last acknowledged position; created on the first ack, as most idle sessions have none. */
  cursors: Map<string, Cursor> | undefined;
  connection: Connection | null = null;
  /** lastSeq as of the last record the store saved: acks never claim more than that. */
  persistedSeq = 0;
  /** Replies waiting for the save of the record that keeps them; sent to the client after it. */
  unsentReplies: KeptReply[] = [];
  /** Publishes wait here for their turn, so asynchronous checks cannot reorder them. */
  readonly inbound: Array<() => Promise<void> | void> = [];
  inboundRunning = false;

  private constructor(id: string, identity: Identity | null, tokenHash: string, ledger: InboundLedger, cursors: Map<string, Cursor> | undefined) {
    this.id = id;
    this.identity = identity;
    this.tokenHash = tokenHash;
    this.expiresAt = null;
    this.ledger = ledger;
    this.cursors = cursors;
  }

  static create(identity: Identity | null): Session {
    return new Session(randomId(), identity, '', new InboundLedger(), undefined);
  }

  /** Restores a session from its stored record; `identity` is the connection's, already checked. */
  static fromRecord(record: SessionRecord, identity: Identity | null): Session {
    const ledger = new InboundLedger(record.lastSeq, record.doneAbove, record.replies);
    const cursors = Object.entries(record.cursors);
    const session = new Session(record.id, identity, record.tokenHash, ledger, cursors.length === 0 ? undefined : new Map(cursors));
    session.expiresAt = record.expiresAt;
    session.persistedSeq = record.lastSeq;
    return session;
  }

  /** Issues a new resume token; every earlier token stops working. */
  rotateToken(): string {
    const token = randomId();
    this.tokenHash = hashToken(token);
    return token;
  }

  toRecord(): SessionRecord {
    return {
      id: this.id,
      identity: this.identity?.id ?? null,
      tokenHash: this.tokenHash,
      expiresAt: this.expiresAt,
      lastSeq: this.ledger.lastSeq,
      doneAbove: this.ledger.doneAboveList(),
      replies: [...this.ledger.replies.values()],
      cursors: this.cursors === undefined ? {} : Object.fromEntries(this.cursors),
    };
  }
}
