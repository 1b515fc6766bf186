import type { Cursor, SessionRecord, SessionState, SessionTakeover, SessionUpdate } from '../store/types.js';
import { AckPath, type AckSink, type AckTimer } from './ack-path.js';
import { InboundLedger } from './inbound-ledger.js';
import type { Identity } from './options.js';
import { hashToken, randomId, tokenMatches } from './tokens.js';

export type { Cursor };

/** What a session needs of the connection holding it. */
export type SessionHolder = AckSink;

/**
 * Server-side state that outlives a connection: identity, the resume token's hash, the
 * acknowledgement path (AckPath) and the cursors of its subscriptions. At most one connection, on
 * one node, holds it at a time: the store's record says which holding is current by its `version`
 * (see SessionState), and this object's writes carry the version it was taken at.
 *
 * Generic over the connection type so that this file need not import the connection's.
 */
export class Session<C extends SessionHolder = SessionHolder> {
  readonly id: string;
  readonly identity: Identity | null;
  tokenHash: string;
  /** The hash of the token presented at the last resume, valid until the client presents the current one. */
  previousTokenHash: string | undefined;
  /** The holding this object writes under (SessionState.version). */
  version: number;
  /** When a released session expires; null while a connection holds it (the store then has a lease). */
  expiresAt: number | null = null;
  /** The lease the store holds while a connection holds the session: renewed before it runs out. */
  leaseUntil = 0;
  /** The expiry the store has not been told yet (a release, or a lease to renew). */
  private expiryChanged = false;
  /** Per topic, the client's last acknowledged position; created on the first ack, as most idle sessions have none. */
  cursors: Map<string, Cursor> | undefined;
  /** Cursors changed since the last save; null marks a removed one. */
  private cursorChanges: Map<string, Cursor | null> | undefined;
  connection: C | null = null;
  /** Another holding took the session over (here or on another node): this object writes no more. */
  replaced = false;
  readonly acks: AckPath;
  /**
   * Moves on when the store failed a frame of this session: the frames taken in before that are
   * not processed any more (they are abandoned, and the client sends them again), so that none of
   * them is stored ahead of the one that failed. Frames carry the generation they came in.
   */
  generation = 0;
  /** Publishes wait here for their turn, so asynchronous checks cannot reorder them. */
  readonly inbound: Array<() => Promise<void> | void> = [];
  /** The frame size of each piece of work in `inbound`, given back (Connection.dischargeInflight) when it is done. */
  readonly inboundBytes: number[] = [];
  inboundRunning = false;
  /** Bytes of client frames taken in and not yet done with (see Connection.chargeInflight). */
  inflightBytes = 0;

  private constructor(id: string, identity: Identity | null, tokenHash: string, version: number, timer: AckTimer, ledger: InboundLedger | undefined, cursors: Map<string, Cursor> | undefined) {
    this.id = id;
    this.identity = identity;
    this.tokenHash = tokenHash;
    this.version = version;
    this.acks = new AckPath(this, timer, ledger);
    this.cursors = cursors;
  }

  static create<C extends SessionHolder>(identity: Identity | null, timer: AckTimer): Session<C> {
    return new Session<C>(randomId(), identity, '', 1, timer, undefined, undefined);
  }

  /** Restores a session from its stored record; `identity` is the connection's, already checked. */
  static fromRecord<C extends SessionHolder>(record: SessionRecord, identity: Identity | null, timer: AckTimer): Session<C> {
    const ledger = new InboundLedger(record.lastSeq, record.doneAbove, record.replies);
    const cursors = Object.entries(record.cursors);
    const session = new Session<C>(record.id, identity, record.tokenHash, record.version, timer, ledger, cursors.length === 0 ? undefined : new Map(cursors));
    session.previousTokenHash = record.previousTokenHash;
    session.expiresAt = record.expiresAt;
    return session;
  }

  /**
   * The first resume token of a new session. A resume gets its next one from the takeover
   * (SessionDirectory.resume, then `tookOver`), which keeps the presented one valid beside it.
   */
  issueToken(): string {
    const token = randomId();
    this.tokenHash = hashToken(token);
    return token;
  }

  /** This object holds the session at `version` now, with the token and lease the takeover stored. */
  tookOver(version: number, change: SessionTakeover): void {
    this.version = version;
    this.tokenHash = change.tokenHash;
    this.previousTokenHash = change.previousTokenHash;
    this.leaseUntil = change.expiresAt;
  }

  /**
   * The whole session as a new record at version 1, its lease running `ttl` from `now` (its kept
   * replies follow with the next save): for a new session, and for a store that lost the record
   * while this node still holds the session.
   */
  wholeState(now: number, ttl: number): SessionState {
    this.leaseUntil = now + ttl;
    return {
      id: this.id,
      identity: this.identity?.id ?? null,
      tokenHash: this.tokenHash,
      ...(this.previousTokenHash === undefined ? {} : { previousTokenHash: this.previousTokenHash }),
      expiresAt: this.expiresAt ?? this.leaseUntil,
      version: 1,
      lastSeq: this.acks.persistedSeq,
      doneAbove: [],
      cursors: this.cursors === undefined ? {} : Object.fromEntries(this.cursors),
    };
  }

  /** A connection holds the session from now on. */
  hold(connection: C): void {
    this.connection = connection;
    this.expiresAt = null;
    this.acks.attached();
  }

  /** The connection let go: the session expires at `expiresAt` unless it is resumed before. */
  release(expiresAt: number): void {
    this.connection = null;
    this.expiresAt = expiresAt;
    this.expiryChanged = true;
    this.acks.detached();
  }

  /** The lease is due for renewal (the next save writes it). */
  renewLease(): void {
    this.expiryChanged = true;
  }

  setCursor(topic: string, cursor: Cursor): void {
    (this.cursors ??= new Map()).set(topic, cursor);
    (this.cursorChanges ??= new Map()).set(topic, cursor);
  }

  deleteCursor(topic: string): void {
    if (this.cursors?.delete(topic) !== true) return;
    (this.cursorChanges ??= new Map()).set(topic, null);
  }

  /** Whether anything is waiting to be saved. */
  get changed(): boolean {
    return this.expiryChanged || this.cursorChanges !== undefined || this.acks.changed;
  }

  /**
   * What changed since the last save, and only that. The expiry is written when it changed: a
   * release, or a lease renewal (the sweeper asks for one halfway through the lease, so a session
   * whose process dies still expires on time). Not with every save: in SQLite the expiry index is
   * a page of its own, a third of what an ack that moves a cursor would write.
   */
  takeUpdate(now: number, ttl: number): SessionUpdate {
    const update: SessionUpdate = { id: this.id, version: this.version };
    if (this.expiryChanged) update.expiresAt = this.expiresAt ?? (this.leaseUntil = now + ttl);
    this.expiryChanged = false;
    if (this.cursorChanges !== undefined) {
      update.cursors = Object.fromEntries(this.cursorChanges);
      this.cursorChanges = undefined;
    }
    this.acks.takeChanges(update);
    return update;
  }

  /** A save of `update` failed: its changes go into the next one, unless something newer replaced them. */
  restoreUpdate(update: SessionUpdate): void {
    if (update.expiresAt !== undefined) this.expiryChanged = true;
    for (const [topic, cursor] of Object.entries(update.cursors ?? {})) {
      const changes = (this.cursorChanges ??= new Map());
      if (!changes.has(topic)) changes.set(topic, cursor);
    }
    this.acks.restoreChanges(update);
  }
}

/** Whether `token` resumes a session with these hashes: its current token, or the one presented at its last resume. */
export function tokenAccepted(token: string, tokenHash: string, previousTokenHash: string | undefined): boolean {
  const current = tokenMatches(token, tokenHash);
  // Both compared, always: which one matched must not show in the time taken.
  const previous = previousTokenHash !== undefined && tokenMatches(token, previousTokenHash);
  return current || previous;
}
