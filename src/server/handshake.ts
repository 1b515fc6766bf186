import { CloseCode, ErrorCode, PROTOCOL_VERSION, isHoldfastError, type HelloFrame } from '../protocol/index.js';
import type { Connection } from './connection.js';
import type { Hub } from './hub.js';
import type { Identity } from './options.js';
import { Session } from './session.js';
import { hashToken } from './tokens.js';

/** `hello` → authentication → resume or new session → `welcome`. */
export class Handshake {
  constructor(private readonly hub: Hub) {}

  async hello(connection: Connection, frame: HelloFrame): Promise<void> {
    if (frame.v !== PROTOCOL_VERSION) {
      return this.hub.fail(connection, ErrorCode.UnsupportedVersion, CloseCode.UnsupportedVersion, `protocol version ${frame.v} is not supported; this server speaks ${PROTOCOL_VERSION}`);
    }
    connection.state = 'authenticating';
    const identity = await this.authenticate(connection, frame.auth);
    // The upgrade request (headers, socket) is only for authentication; do not hold it for the connection's life.
    connection.request = undefined;
    if (identity === undefined || connection.isClosed()) return;

    let session: Session | undefined;
    try {
      session = frame.resume === undefined ? undefined : await this.findResumable(frame.resume, identity);
    } catch (error) {
      // The store could not say whether the session exists: a new one would orphan the client's
      // state, so it comes back once the store answers again.
      this.hub.options.onError(error);
      return this.hub.fail(connection, ErrorCode.StoreUnavailable, CloseCode.Unavailable, 'the store failed; connect again', 1000);
    }
    if (connection.isClosed()) return;
    const resumed = session !== undefined;
    if (session === undefined) {
      const { maxSessions } = this.hub.options.limits;
      if (this.hub.sessions.size >= maxSessions) {
        // Each session outlives its connection by sessionTtl: a connect loop would otherwise fill memory.
        return this.hub.fail(connection, ErrorCode.TooManySessions, CloseCode.Unavailable, `the server holds its most sessions (${maxSessions})`, 10_000);
      }
      session = Session.create(identity);
      this.hub.sessions.set(session.id, session);
    }
    const previous = session.connection;
    if (previous !== null && previous !== connection) {
      // Usually a half-open socket the client already gave up on.
      this.hub.fail(previous, ErrorCode.SessionReplaced, CloseCode.SessionReplaced, 'a newer connection resumed this session');
    }
    session.connection = connection;
    session.expiresAt = null;
    connection.session = session;
    connection.identity = identity;
    const token = session.rotateToken(resumed ? hashToken(frame.resume!.token) : undefined);
    this.hub.persist(session);
    // The new token is on record before the client hears it: a server that dies now still knows it.
    await this.hub.saved();
    if (connection.isClosed()) return;
    connection.state = 'open';
    const { options } = this.hub;
    connection.send({
      type: 'welcome',
      v: PROTOCOL_VERSION,
      session: session.id,
      token,
      resumed,
      heartbeat: { interval: options.heartbeat.interval, timeout: options.heartbeat.timeout },
      limits: {
        maxPayload: options.limits.maxPayload,
        maxDepth: options.limits.maxDepth,
        maxSubscriptions: options.limits.maxSubscriptions,
        maxInFlight: options.limits.maxInFlight,
      },
    });
    const early = connection.early;
    connection.early = undefined;
    for (const [frame, text] of early ?? []) this.hub.dispatch(connection, frame, text);
  }

  /** The connection's identity; undefined when refused (the connection is then closed). */
  private async authenticate(connection: Connection, auth: unknown): Promise<Identity | null | undefined> {
    const hook = this.hub.options.authenticate;
    if (hook === undefined) return null;
    let result: Awaited<ReturnType<typeof hook>>;
    let message = 'credentials refused';
    try {
      result = await hook({ auth, request: connection.request, remoteAddress: connection.remoteAddress });
    } catch (error) {
      result = null;
      if (isHoldfastError(error)) message = error.message;
      else this.hub.options.onError(error);
    }
    if (result === null || result === false || (typeof result === 'object' && typeof result.id !== 'string')) {
      this.hub.fail(connection, ErrorCode.Unauthenticated, CloseCode.Unauthenticated, message);
      return undefined;
    }
    return typeof result === 'string' ? { id: result } : result;
  }

  /**
   * The session to resume, or undefined. Refuses an expired session, another identity's session and
   * a token that is not the session's current one, all alike, so a guess learns nothing.
   */
  private async findResumable(resume: { session: string; token: string }, identity: Identity | null): Promise<Session | undefined> {
    const { hub } = this;
    let session = hub.sessions.get(resume.session);
    if (session === undefined) {
      const record = await hub.store.loadSession(resume.session);
      // Checked against the record: a restored session takes the identity of the connection.
      if (record === undefined || record.identity !== (identity?.id ?? null)) return undefined;
      // Another connection may have restored it while the store answered.
      session = hub.sessions.get(resume.session) ?? Session.fromRecord(record, identity);
    }
    const now = hub.clock.now();
    if (session.expiresAt !== null && session.expiresAt <= now) return undefined;
    if ((session.identity?.id ?? null) !== (identity?.id ?? null)) return undefined;
    if (!session.acceptsToken(resume.token)) return undefined;
    // Only a session the client proved it owns joins the live ones (a wrong guess leaves nothing behind).
    hub.sessions.set(session.id, session);
    return session;
  }
}
