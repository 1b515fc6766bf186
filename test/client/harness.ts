import { HoldfastClient, type ClientEvents, type ClientOptions, type HoldfastError, type StateChange } from '../../src/client/index.js';
import type { WelcomeFrame } from '../../src/protocol/frames.js';
import { FakeClock } from '../support/fake-clock.js';
import { FakeEnvironment, FakeServer, tick, type FakeSocket } from './fake-server.js';

export interface Harness {
  client: HoldfastClient;
  clock: FakeClock;
  server: FakeServer;
  environment: FakeEnvironment;
  states: StateChange[];
  errors: HoldfastError[];
  opens: Array<ClientEvents['open']>;
  disconnects: Array<ClientEvents['disconnect']>;
  /** The newest socket. */
  readonly socket: FakeSocket;
}

/**
 * A client wired to fakes, with every event recorded, connecting (socket created, not accepted).
 * `random` defaults to 0.5 so a jittered delay is exactly half its ceiling.
 */
export async function start(options: Partial<ClientOptions> = {}, connect = true): Promise<Harness> {
  const clock = new FakeClock();
  const server = new FakeServer();
  const environment = new FakeEnvironment();
  const client = new HoldfastClient({
    url: 'ws://holdfast.test/ws',
    WebSocket: server.WebSocket,
    clock,
    environment,
    random: () => 0.5,
    ...options,
    autoConnect: false,
  });
  const harness: Harness = {
    client,
    clock,
    server,
    environment,
    states: [],
    errors: [],
    opens: [],
    disconnects: [],
    get socket() {
      return server.last;
    },
  };
  client.on('state', (change) => harness.states.push(change));
  client.on('error', (error) => harness.errors.push(error));
  client.on('open', (event) => harness.opens.push(event));
  client.on('disconnect', (event) => harness.disconnects.push(event));
  if (connect) {
    client.connect();
    await tick();
  }
  return harness;
}

/** Accepts the newest socket and welcomes it. */
export function accept(harness: Harness, welcome: Partial<WelcomeFrame> = {}): FakeSocket {
  const socket = harness.socket;
  socket.accept();
  socket.welcome(welcome);
  return socket;
}

/** A client that is 'open' on its first socket. */
export async function startOpen(options: Partial<ClientOptions> = {}, welcome: Partial<WelcomeFrame> = {}): Promise<Harness> {
  const harness = await start(options);
  accept(harness, welcome);
  return harness;
}

/** Drops the current socket and lets the retry timer fire, leaving a new socket connecting. */
export async function reconnect(harness: Harness, code = 1006): Promise<FakeSocket> {
  const before = harness.server.sockets.length;
  harness.socket.drop(code);
  const delay = harness.states.at(-1)?.delay ?? 0;
  harness.clock.advance(delay);
  await tick();
  if (harness.server.sockets.length !== before + 1) throw new Error('no new socket after the retry delay');
  return harness.socket;
}

/** Settles a promise into a value or an error, without unhandled rejections. */
export function settle<T>(promise: Promise<T>): { readonly value: T | undefined; readonly error: unknown; readonly done: boolean } {
  const state = { value: undefined as T | undefined, error: undefined as unknown, done: false };
  promise.then(
    (value) => Object.assign(state, { value, done: true }),
    (error: unknown) => Object.assign(state, { error, done: true }),
  );
  return state;
}
