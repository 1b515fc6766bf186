import { CloseCode, ErrorCode, PROTOCOL_VERSION, isHoldfastError, type ClientFrame, type HelloFrame } from '../protocol/index.js';
import type { Connection } from './connection.js';
import type { Authenticate, Identity, ResolvedLimits } from './options.js';
import type { HubSession, SessionDirectory } from './session-directory.js';

/** What the handshake needs of the hub. */
export interface HandshakeContext {
  readonly authenticate: Authenticate | undefined;
  readonly heartbeat: { interval: number; timeout: number };
  readonly limits: ResolvedLimits;
  readonly onError: (error: unknown) => void;
  readonly sessions: SessionDirectory;
  /** Handles a frame of an open connection (the frames that arrived during the handshake). */
  dispatch(connection: Connection, frame: ClientFrame, text: string): void;
}

/**
 * `hello` → authentication → resume or new session → `welcome` (PROTOCOL.md, Flows: Connect and
 * Resume). The session's new resume token is on record in the store before `welcome` carries it:
 * a server that dies in between still knows it.
 */
export class Handshake {
  constructor(private readonly hub: HandshakeContext) {}

  async hello(connection: Connection, frame: HelloFrame): Promise<void> {
    const { hub } = this;
    if (frame.v !== PROTOCOL_VERSION) {
      return connection.fail(ErrorCode.UnsupportedVersion, CloseCode.UnsupportedVersion, `protocol version ${frame.v} is not supported; this server speaks ${PROTOCOL_VERSION}`);
    }
    connection.moveTo('authenticating');
    const identity = await this.authenticate(connection, frame.auth);
    // The upgrade request (headers, socket) is only for authentication; do not hold it for the connection's life.
    connection.request = undefined;
    if (identity === undefined || connection.isClosed()) return;

    let taken: { session: HubSession; token: string } | undefined;
    let resumed = false;
    try {
      if (frame.resume !== undefined) taken = await hub.sessions.resume(frame.resume, identity, () => !connection.isClosed());
      resumed = taken !== undefined;
      if (taken === undefined && !connection.isClosed()) {
        const { maxSessions } = hub.limits;
        if (hub.sessions.size >= maxSessions) {
          // Each session outlives its connection by sessionTtl: a connect loop would otherwise fill memory.
          return connection.fail(ErrorCode.TooManySessions, CloseCode.Unavailable, `the server holds its most sessions (${maxSessions})`, 10_000);
        }
        taken = await hub.sessions.create(identity);
      }
    } catch (error) {
      // The store could not say whether the session exists, or could not record it: a new one
      // would orphan the client's state, so it comes back once the store answers again.
      hub.onError(error);
      return connection.fail(ErrorCode.StoreUnavailable, CloseCode.Unavailable, 'the store failed; connect again', 1000);
    }
    if (taken === undefined) return;
    const { session, token } = taken;
    hub.sessions.hold(session, connection);
    // Closed while the store answered: the session stays on record, released, for the client's next try.
    if (connection.isClosed()) return hub.sessions.release(session);
    connection.session = session;
    connection.identity = identity;
    connection.moveTo('open');
    connection.send({
      type: 'welcome',
      v: PROTOCOL_VERSION,
      session: session.id,
      token,
      resumed,
      heartbeat: { interval: hub.heartbeat.interval, timeout: hub.heartbeat.timeout },
      limits: {
        maxPayload: hub.limits.maxPayload,
        maxDepth: hub.limits.maxDepth,
        maxSubscriptions: hub.limits.maxSubscriptions,
        maxInFlight: hub.limits.maxInFlight,
      },
    });
    const early = connection.early;
    connection.early = undefined;
    for (const [frame, text] of early ?? []) hub.dispatch(connection, frame, text);
  }

  /** The connection's identity; undefined when refused (the connection is then closed). */
  private async authenticate(connection: Connection, auth: unknown): Promise<Identity | null | undefined> {
    const hook = this.hub.authenticate;
    if (hook === undefined) return null;
    let result: Awaited<ReturnType<typeof hook>>;
    let message = 'credentials refused';
    try {
      result = await hook({ auth, request: connection.request, remoteAddress: connection.remoteAddress });
    } catch (error) {
      result = null;
      if (isHoldfastError(error)) message = error.message;
      else this.hub.onError(error);
    }
    if (result === null || result === false || (typeof result === 'object' && typeof result.id !== 'string')) {
      connection.fail(ErrorCode.Unauthenticated, CloseCode.Unauthenticated, message);
      return undefined;
    }
    return typeof result === 'string' ? { id: result } : result;
  }
}
