import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { systemClock, type Clock } from '../../src/protocol/index.js';
import { DEFAULTS } from '../../src/server/options.js';
import { SqliteStore } from '../../src/store/sqlite/index.js';
import { Child, freePort, killChildren } from '../support/child-process.js';
import { RawPeer } from '../support/raw-peer.js';
import { startServer, type TestServer } from '../support/servers.js';

const folder = mkdtempSync(join(tmpdir(), 'holdfast-lease-'));
const peers: RawPeer[] = [];
let server: TestServer | undefined;
let store: SqliteStore | undefined;
after(async () => {
  for (const peer of peers) peer.close();
  await server?.close();
  await store?.close();
  await killChildren();
  rmSync(folder, { recursive: true, force: true });
});

/** The system clock moved on by `offset` ms: the restarted server's view of "later". */
function offsetClock(): Clock & { offset: number } {
  const clock = { ...systemClock, offset: 0, now: () => Date.now() + clock.offset };
  return clock;
}

/**
 * Guards issue 10 item 12: a session held by a connection was stored without an expiry, so when the
 * server process died its sessions never expired (a resume was accepted however late). Now a held
 * session is stored with a lease of sessionTtl, renewed while held.
 */
describe('session lease across a crash (SQLite, SIGKILL)', () => {
  it('a session held when the server died can be resumed within sessionTtl, and not after', { timeout: 60_000 }, async () => {
    const file = join(folder, 'lease.db');
    const port = await freePort();
    const child = new Child('./sqlite-server-child.ts', [String(port), file]);
    await child.waitForLine((line) => line.startsWith('listening '), 30_000);
    const url = `ws://127.0.0.1:${port}/holdfast`;
    const late = await RawPeer.handshake(url);
    const early = await RawPeer.handshake(url);
    peers.push(late.peer, early.peer);
    // Held by their connections when the process dies: nothing saved them as disconnected.
    await child.kill();

    const clock = offsetClock();
    store = new SqliteStore({ file });
    server = await startServer({ store, clock, onError: (error) => assert.fail(String(error)) });
    const ttl = DEFAULTS.sessionTtl;
    const resume = async (welcome: { session: string; token: string }) => {
      const { peer, welcome: answer } = await RawPeer.handshake(server!.url, { resume: { session: welcome.session, token: welcome.token } });
      peers.push(peer);
      return answer.resumed;
    };

    clock.offset = ttl / 2;
    assert.equal(await resume(early.welcome), true, 'half of sessionTtl after the crash: resumed');
    clock.offset = ttl + 5_000;
    assert.equal(await resume(late.welcome), false, 'sessionTtl after the crash: expired, not resumed');
    await store.sweep(clock.now());
    assert.equal(await store.loadSession(late.welcome.session), undefined, "the store's sweep removes it");
    assert.ok(await store.loadSession(early.welcome.session), 'the resumed one is held again, on a new lease');
  });
});
