import { CloseCode, ErrorCode } from '../protocol/index.js';
import type { SessionRecord, Store } from '../store/types.js';
import type { AckTimer } from './ack-path.js';
import type { Connection } from './connection.js';
import { ExpiryQueue } from './expiry-queue.js';
import type { Identity } from './options.js';
import { Session, tokenAccepted } from './session.js';
import type { SessionSaves } from './session-saves.js';
import { hashToken, randomId } from './tokens.js';

export type HubSession = Session<Connection>;

export interface SessionDirectoryOptions {
  store: Pick<Store, 'createSession' | 'takeSession' | 'loadSession' | 'deleteSession'>;
  saves: SessionSaves<HubSession>;
  acks: AckTimer;
  now: () => number;
  sessionTtl: number;
  onError: (error: unknown) => void;
}

/** How many times a resume reads the record again when another resume of it won the race. */
const TAKEOVER_ATTEMPTS = 3;

/**
 * The sessions this node has in memory: the ones its connections hold, and released ones until
 * they expire (a resume on this node then finds its work in progress). The store decides who holds
 * a session: a resume loads the record, checks the token against it and takes it over with a
 * compare-and-set on its version, so two nodes never both think they hold it; the one that lost it
 * hears so (a `session` event, or a save the store refused) and closes its connection with
 * SESSION_REPLACED.
 */
export class SessionDirectory {
  private readonly byId = new Map<string, HubSession>();
  /** Released sessions in expiry order: expiry visits the ones due, not every session in memory. */
  private readonly expiring = new ExpiryQueue();

  constructor(private readonly options: SessionDirectoryOptions) {}

  get size(): number {
    return this.byId.size;
  }

  get(id: string): HubSession | undefined {
    return this.byId.get(id);
  }

  values(): IterableIterator<HubSession> {
    return this.byId.values();
  }

  /** A new session, on record in the store (version 1) before its token is handed out. */
  async create(identity: Identity | null): Promise<{ session: HubSession; token: string }> {
    const { store, now, sessionTtl, acks } = this.options;
    for (;;) {
      const session = Session.create<Connection>(identity, acks);
      const token = session.issueToken();
      // 128 random bits: an id already taken is a broken random source, not bad luck; try once more anyway.
      if (await store.createSession(session.wholeState(now(), sessionTtl))) {
        this.byId.set(session.id, session);
        return { session, token };
      }
    }
  }

  /**
   * The session `resume` names, taken over for this node with a new token; undefined when there
   * is none to resume. Refuses an expired session, another identity's session and a wrong token
   * all alike, so a guess learns nothing. Rejects when the store fails.
   *
   * `wanted` says whether the connection asking is still there: one that closed while the store
   * answered takes nothing over (undefined). Its client may have resumed through another connection
   * meanwhile, with the same token, and a takeover now would close that live connection with
   * SESSION_REPLACED, which a client takes as final.
   */
  async resume(
    resume: { session: string; token: string },
    identity: Identity | null,
    wanted: () => boolean = () => true,
  ): Promise<{ session: HubSession; token: string } | undefined> {
    const { store, now, sessionTtl, acks } = this.options;
    for (let attempt = 0; attempt < TAKEOVER_ATTEMPTS; attempt++) {
      const record = await store.loadSession(resume.session);
      if (!wanted()) return undefined;
      if (record === undefined || !resumable(record, resume.token, identity, now())) return undefined;
      // This node's object when it is the current holding (its work in progress carries on), else the record's.
      const local = this.byId.get(record.id);
      const session = local !== undefined && local.version === record.version && !local.replaced ? local : Session.fromRecord<Connection>(record, identity, acks);
      const token = randomId();
      const change = { tokenHash: hashToken(token), previousTokenHash: hashToken(resume.token), expiresAt: now() + sessionTtl };
      const version = await store.takeSession(record.id, record.version, change);
      if (version === undefined) continue; // another resume took it meanwhile: look again
      if (local !== undefined && local !== session) this.replaced(local);
      session.tookOver(version, change);
      this.byId.set(session.id, session);
      return { session, token };
    }
    throw new Error(`session ${resume.session} is being taken over by other connections; try again`);
  }

  /** `connection` holds `session` now; a connection of this node that held it is closed. */
  hold(session: HubSession, connection: Connection): void {
    const previous = session.connection;
    // Usually a half-open socket the client already gave up on.
    if (previous !== null && previous !== connection) previous.fail(ErrorCode.SessionReplaced, CloseCode.SessionReplaced, 'a newer connection resumed this session');
    session.hold(connection);
  }

  /** The connection holding `session` closed: it expires sessionTtl from now unless resumed before. */
  release(session: HubSession): void {
    const expiresAt = this.options.now() + this.options.sessionTtl;
    session.release(expiresAt);
    this.expiring.add(session, expiresAt);
    this.options.saves.request(session);
  }

  /**
   * Another holding took `session` over (a `session` event, or a save the store refused): its
   * connection here is closed, and this object writes no more.
   */
  replaced(session: HubSession): void {
    session.replaced = true;
    if (this.byId.get(session.id) === session) this.byId.delete(session.id);
    session.connection?.fail(ErrorCode.SessionReplaced, CloseCode.SessionReplaced, 'a newer connection resumed this session');
  }

  /**
   * The store refused a save of `session`: either another holding took it over (its record has a
   * newer version), or the store no longer has it (a failover to a replica that lacks it, or it
   * expired there while this node could not renew it). In the second case this node, which still
   * holds the session, writes it again whole, and the client notices nothing.
   */
  async refused(session: HubSession): Promise<void> {
    const { store, now, sessionTtl } = this.options;
    session.replaced = true; // no write under the refused version meanwhile
    const record = await store.loadSession(session.id);
    if (record !== undefined || session.connection === null) return this.replaced(session);
    const state = session.wholeState(now(), sessionTtl);
    if (!(await store.createSession(state))) return this.replaced(session); // created meanwhile by another: not ours any more
    session.replaced = false;
    session.version = state.version;
    session.acks.keepAllAgain();
    this.options.saves.request(session);
  }

  /** The store says the session is at `version` now (taken over on another node). */
  movedOn(id: string, version: number): void {
    const local = this.byId.get(id);
    if (local !== undefined && local.version < version) this.replaced(local);
  }

  /** Ends the released sessions due at `now` (the sweeper calls this). */
  expire(now: number): void {
    const { store, onError } = this.options;
    for (const session of this.expiring.takeDue(now)) {
      if (this.byId.get(session.id) !== session) continue;
      if (session.inboundRunning) {
        // Work of the session is still running: it is looked at again after the sessions released since.
        this.expiring.add(session, session.expiresAt!);
        continue;
      }
      this.byId.delete(session.id);
      // At its version only: a resume on another node since then keeps it.
      store.deleteSession(session.id, session.version).catch(onError);
    }
  }
}

/** Whether the record may be resumed by a client presenting `token` as `identity`. */
function resumable(record: SessionRecord, token: string, identity: Identity | null, now: number): boolean {
  const tokenOk = tokenAccepted(token, record.tokenHash, record.previousTokenHash);
  return tokenOk && record.expiresAt > now && record.identity === (identity?.id ?? null);
}
