import type { KeptReply, SessionRecord, SessionState, SessionUpdate } from '../store/types.js';
import { InboundLedger } from './inbound-ledger.js';
import type { Identity } from './options.js';
import { hashToken, randomId, tokenMatches } from './tokens.js';
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
  /** The hash of the token presented at the last resume, valid until the client presents the current one. */
  previousTokenHash: string | undefined;
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
  /** seqs of kept replies the client confirmed since the last save: the next save removes them. */
  confirmedReplies: number[] = [];
  /** The lease the store holds while a connection holds the session: renewed before it runs out. */
  leaseUntil = 0;
  /** Publishes wait here for their turn, so asynchronous checks cannot reorder them. */
  readonly inbound: Array<() => Promise<void> | void> = [];
  /** The frame size of each piece of work in `inbound`, given back (Connection.dischargeInflight) when it is done. */
  readonly inboundBytes: number[] = [];
  inboundRunning = false;
  /** Bytes of client frames taken in and not yet done with (see Connection.chargeInflight). */
  inflightBytes = 0;

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
    session.previousTokenHash = record.previousTokenHash;
    session.persistedSeq = record.lastSeq;
    return session;
  }

  /**
   * Issues a new resume token. The token the client presented to resume (`presentedHash`) stays
   * valid beside it until the client resumes with the new one: if the `welcome` carrying the new
   * token is lost with the connection, the client still holds a token that works, instead of
   * starting a new session and orphaning this one. Every older token stops working.
   */
  rotateToken(presentedHash?: string): string {
    const token = randomId();
    this.previousTokenHash = presentedHash;
    this.tokenHash = hashToken(token);
    return token;
  }

  /** Whether `token` resumes this session: the current token, or the one presented at the last resume. */
  acceptsToken(token: string): boolean {
    const current = tokenMatches(token, this.tokenHash);
    // Both compared, always: which one matched must not show in the time taken.
    const previous = this.previousTokenHash !== undefined && tokenMatches(token, this.previousTokenHash);
    return current || previous;
  }

  /**
   * The state to store. A session held by a connection is stored with a lease that expires
   * `ttl` from now, so that if this process dies the session still expires on time.
   */
  toState(now: number, ttl: number): SessionState {
    let expiresAt = this.expiresAt;
    if (expiresAt === null) expiresAt = this.leaseUntil = now + ttl;
    return {
      id: this.id,
      identity: this.identity?.id ?? null,
      tokenHash: this.tokenHash,
      ...(this.previousTokenHash === undefined ? {} : { previousTokenHash: this.previousTokenHash }),
      expiresAt,
      lastSeq: this.ledger.lastSeq,
      doneAbove: this.ledger.doneAboveList(),
      cursors: this.cursors === undefined ? {} : Object.fromEntries(this.cursors),
    };
  }

  /**
   * What changed since the last save: the state, the replies kept since (taken from
   * `unsentReplies`, which the caller sends once the save succeeded) and the replies confirmed.
   */
  takeUpdate(now: number, ttl: number): SessionUpdate {
    const update: SessionUpdate = { state: this.toState(now, ttl) };
    if (this.unsentReplies.length > 0) update.addReplies = this.unsentReplies.splice(0);
    if (this.confirmedReplies.length > 0) update.removeReplies = this.confirmedReplies.splice(0);
    return update;
  }

  /** A save of `update` failed: its changes go into the next one, in their order. */
  restoreUpdate(update: SessionUpdate): void {
    if (update.addReplies !== undefined) this.unsentReplies.unshift(...update.addReplies);
    if (update.removeReplies !== undefined) this.confirmedReplies.unshift(...update.removeReplies);
  }
}
