import fc from 'fast-check';
import { ErrorCode, HoldfastError } from '../../src/protocol/index.js';
import { documentedCloseCodes, wireErrorCodes } from '../support/protocol-doc.js';
import { startServer, type TestServer } from '../support/servers.js';
import { waitFor } from '../support/wait.js';
import { attack, FUZZ_TOPICS, type AttackOptions } from './support/frames.js';
import { FuzzPeer, type PeerRecord } from './support/fuzz-peer.js';
import { settledMemory } from './support/memory.js';
import { Neighbour } from './support/neighbour.js';
import type { FuzzFixture, FuzzProperty } from './support/runner.js';
import type { EscapeTrap } from './support/trap.js';

/** How far the heap may stay above its baseline once the attackers left: a smoke bound, not a benchmark. */
const MEMORY_SLACK = 64 * 1024 * 1024;
const HEARTBEAT = { interval: 1000, timeout: 1000 };
const RELEASE_MS = HEARTBEAT.interval + HEARTBEAT.timeout + 3000;

/**
 * Random and mutated frame sequences from a few raw connections into a real server with small
 * limits, a fresh one per case. Per case: nothing escapes to the event loop, the server reports no
 * error (onError) for client input alone, sends only JSON frames, only documented error and close
 * codes, lets every attacker go within the heartbeat bound, and a neighbour's reliable messages
 * come back exactly once, in order, during and after the attack. After the cases, with every
 * server closed: the heap returns near its baseline (nothing the servers held stays reachable).
 */
export const frameFuzz: FuzzProperty = frameProperty('frames', { invalidUtf8: false });

/** The same with text messages that may not be UTF-8 (the WebSocket layer closes them with 1007). */
export const frameFuzzInvalidUtf8: FuzzProperty = frameProperty('frames+invalid-utf8', { invalidUtf8: true });

function frameProperty(name: string, options: AttackOptions): FuzzProperty {
  return { name, open: (trap) => openFrameFixture(trap, options) };
}

/** The server each case runs against: small limits, one topic of each mode, a handler that answers and one that refuses. */
async function fuzzServer(): Promise<TestServer> {
  return startServer({
    limits: { maxPayload: 4096, maxDepth: 8, maxSubscriptions: 3, maxSeqAhead: 50, maxKeptReplies: 6 },
    topics: FUZZ_TOPICS,
    handlers: {
      echo: (data) => data,
      refuse: () => {
        throw new HoldfastError(ErrorCode.Forbidden, 'refused on purpose');
      },
    },
    // Short, so that a connection the server stopped reading is dropped within a case when its
    // client leaves (it is not noticed before: test/fuzz/README.md, "Pending").
    heartbeat: HEARTBEAT,
    // Client input alone must never make the server report an error: checked per case below.
    expectErrors: true,
  });
}

async function openFrameFixture(trap: EscapeTrap, options: AttackOptions): Promise<FuzzFixture> {
  const errorCodes = wireErrorCodes();
  const closeCodes = new Set(documentedCloseCodes().map((row) => row.code));
  const seen = new Map<string, number>(); // error and close codes met, for the fuzz runner's summary
  const count = (key: string) => seen.set(key, (seen.get(key) ?? 0) + 1);
  const baseline = await settledMemory();

  // A fresh server per case, so that a counterexample replays (and shrinks) on its own.
  const property = fc.asyncProperty(attack(options), async (scripts) => {
    const escapedBefore = trap.escaped.length;
    const t = await fuzzServer();
    const neighbour = await Neighbour.join(t.url, 'chat:neighbour');
    try {
      const peers = await Promise.all(scripts.map(() => FuzzPeer.connect(t.url)));
      const longest = Math.max(...scripts.map((script) => script.length));
      neighbour.publish();
      for (let i = 0; i < longest; i++) {
        scripts.forEach((script, p) => script[i] !== undefined && peers[p]!.send(script[i]!));
        neighbour.publish();
      }
      await Promise.all(peers.map((peer) => peer.finish(2000)));
      // The server's own close code, before ours (1006) hides it.
      const records: PeerRecord[] = peers.map((peer) => ({ ...peer.record, errorCodes: [...peer.record.errorCodes], garbage: [...peer.record.garbage] }));
      await Promise.all(peers.map((peer) => peer.close()));
      await neighbour.verify().catch((error: unknown) => {
        throw new Error(`${String(error)}; errors the server reported: ${t.errors.map(String).join('; ') || 'none'}`);
      });
      // Within the heartbeat bound (interval + timeout, plus a sweep), PROTOCOL.md's promise.
      await waitFor(() => t.server.hub.stats().connections <= 1, 'the attackers’ connections to be released', RELEASE_MS);
      neighbour.publish(); // and the neighbour still works after they left
      await neighbour.verify();
      trap.assertNoneSince(escapedBefore, 'this case');
      if (t.errors.length > 0) throw new Error(`the server reported ${t.errors.length} error(s) for client input: ${String(t.errors[0])}`);
      records.forEach((record, p) => {
        record.errorCodes.forEach(count);
        if (record.closeCode !== undefined) count(`close ${record.closeCode}`);
        const where = `connection ${p}`;
        if (record.garbage.length > 0) throw new Error(`${where} received messages that are not frames: ${JSON.stringify(record.garbage)}`);
        const unknown = record.errorCodes.filter((code) => !errorCodes.has(code));
        if (unknown.length > 0) throw new Error(`${where} received error codes PROTOCOL.md does not list: ${unknown.join(', ')}`);
        if (record.closeCode !== undefined && !closeCodes.has(record.closeCode)) {
          throw new Error(`${where} was closed with ${record.closeCode}, which PROTOCOL.md's close-code table lacks`);
        }
      });
    } finally {
      neighbour.close();
      await t.close();
    }
  });

  return {
    property: property as fc.IAsyncProperty<[unknown]>,
    summary: () => [...seen].sort(([a], [b]) => a.localeCompare(b)).map(([code, n]) => `${code}×${n}`).join(' '),
    async afterRuns() {
      // Every server of the run is closed: what they held must be collectable.
      const now = await settledMemory();
      const grown = now.heapUsed - baseline.heapUsed;
      if (grown > MEMORY_SLACK) {
        throw new Error(`heap ${mib(now.heapUsed)} MiB after the run, ${mib(grown)} MiB above the baseline ${mib(baseline.heapUsed)} MiB (gc forced: ${now.forcedGc})`);
      }
    },
    close: async () => undefined,
  };
}

const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);
