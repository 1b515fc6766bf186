import fc from 'fast-check';
import { connect, type Socket } from 'node:net';
import { startStandalone } from '../../src/cli/standalone.js';
import { requestBurst } from './support/http-requests.js';
import { Neighbour } from './support/neighbour.js';
import type { FuzzFixture, FuzzProperty } from './support/runner.js';
import type { EscapeTrap } from './support/trap.js';

/** How long a socket may wait for an answer or a close after it sent everything and ended its side. */
const ANSWER_MS = 5000;

/** How long the server's close() may take once every client socket is gone. */
const CLOSE_MS = 3000;

/** Whether `promise` settles within `ms`. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** What became of one raw socket. */
interface SocketOutcome {
  answered: boolean;
  closed: boolean;
  /** The first line of the answer, for the failure message. */
  status: string;
}

/** Sends `bytes` (latin1) on a fresh TCP connection, ends the writing side, and reports what happened within ANSWER_MS. */
function exchange(port: number, bytes: string): Promise<SocketOutcome> {
  return new Promise((resolve) => {
    const outcome: SocketOutcome = { answered: false, closed: false, status: '' };
    const socket = connect(port, '127.0.0.1');
    const done = () => {
      clearTimeout(timer);
      resolve({ ...outcome }); // as it is now: destroying the socket below fires 'close'
      socket.destroy();
    };
    const timer = setTimeout(done, ANSWER_MS); // a straggler: neither answered nor closed
    socket.on('data', (chunk: Buffer) => {
      if (!outcome.answered) outcome.status = chunk.toString('latin1').split('\r\n', 1)[0]!.slice(0, 80);
      outcome.answered = true;
      done();
    });
    socket.on('error', () => undefined); // a reset is an answer of sorts: 'close' follows
    socket.on('close', () => {
      outcome.closed = true;
      done();
    });
    socket.on('connect', () => socket.end(Buffer.from(bytes, 'latin1')));
  });
}

/**
 * Random and mutated HTTP requests (mostly WebSocket upgrades) and random bytes on raw sockets to a
 * standalone server with the memory store. Per case: nothing escapes to the event loop, every
 * socket is answered or closed within ANSWER_MS, and a WebSocket neighbour still publishes and
 * receives its own messages.
 */
export const httpFuzz: FuzzProperty = { name: 'http', open: openHttpFixture };

async function openHttpFixture(trap: EscapeTrap): Promise<FuzzFixture> {
  const seen = new Map<string, number>(); // answers met, for the fuzz runner's summary
  const property = fc.asyncProperty(requestBurst, async (burst) => {
    const escapedBefore = trap.escaped.length;
    const errors: unknown[] = [];
    // A fresh server per case, so that a counterexample replays (and shrinks) on its own.
    const app = await startStandalone({ port: 0, store: 'memory', priceFeed: false, server: { onError: (error) => errors.push(error) } });
    // Every socket the server accepted, to end the ones a close would otherwise wait for forever.
    const accepted = new Set<Socket>();
    app.http.on('connection', (socket: Socket) => accepted.add(socket));
    let failed = false;
    const neighbour = await Neighbour.join(app.wsUrl, 'chat:neighbour');
    try {
      neighbour.publish();
      const outcomes = await Promise.all(burst.map((bytes) => exchange(app.port, bytes)));
      neighbour.publish();
      await neighbour.verify();
      trap.assertNoneSince(escapedBefore, 'this case');
      if (errors.length > 0) throw new Error(`the server reported ${errors.length} error(s) for client input: ${String(errors[0])}`);
      outcomes.forEach((outcome, i) => {
        const key = outcome.answered ? outcome.status.split(' ').slice(0, 2).join(' ') || '(answer)' : outcome.closed ? '(closed)' : '(straggler)';
        seen.set(key, (seen.get(key) ?? 0) + 1);
        if (!outcome.answered && !outcome.closed) throw new Error(`socket ${i} got no answer and was not closed within ${ANSWER_MS} ms`);
      });
    } catch (error) {
      failed = true;
      throw error;
    } finally {
      neighbour.close();
      const closed = app.close();
      // The client side of every socket is closed by now: whatever the server still holds is a leak.
      if (!(await within(closed, CLOSE_MS))) {
        const left = [...accepted].filter((socket) => !socket.destroyed);
        for (const socket of left) socket.destroy();
        await closed;
        // Reported unless the case already failed (a straggler is the more telling message).
        if (!failed) throw new Error(`the server's close() hung on ${left.length} socket(s) its clients had closed`);
      }
    }
  });
  return {
    property: property as fc.IAsyncProperty<[unknown]>,
    summary: () => [...seen].sort(([a], [b]) => a.localeCompare(b)).map(([key, n]) => `${key}×${n}`).join(' '),
    afterRuns: async () => undefined,
    close: async () => undefined,
  };
}
