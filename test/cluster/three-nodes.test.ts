import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { HoldfastClient } from '../../src/client/index.js';
import { cli, finished, listening } from '../cli/helpers.js';
import { restartablePort } from '../support/child-process.js';
import { Nginx, nginxPresent } from '../support/nginx.js';
import { freshPrefix, OwnRedis, ownRedisPossible } from '../support/redis.js';
import { sleep, waitFor } from '../support/wait.js';

const possible = nginxPresent() && ownRedisPossible('the three-node suite');
if (!possible && process.env['CI'] === 'true') throw new Error('nginx or redis-server is missing, and CI installs both: the setup is broken');

const PUBLISHERS = 3;
const SUBSCRIBERS = 3;
/** Each publisher's messages, one every PACE ms: about 20 s of traffic, time for several kills. */
const PER_PUBLISHER = 500;
const PACE = 40;

/**
 * The deployment docs/redis.md describes, over real processes: three `holdfast serve --redis`
 * nodes behind nginx (round robin, no stickiness), on a redis-server that fsyncs every write.
 * Clients publish and subscribe through nginx while a node is SIGKILLed every second or two and
 * started again, and Redis itself is SIGKILLed and restarted once. Every acknowledged publish must
 * reach every subscriber exactly once, in its publisher's order, and nothing else may arrive.
 */
describe('three nodes behind nginx on Redis', { skip: possible ? false : 'needs nginx and redis-server (CI installs both)' }, () => {
  const cleanup: Array<() => unknown> = [];
  after(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('loses, repeats and reorders nothing while nodes are killed and Redis restarts', { timeout: 150_000 }, async () => {
    const seed = Number(process.env['HOLDFAST_SEED'] ?? Date.now() % 1_000_000);
    let state = seed;
    const random = (): number => (state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    console.log(`# three-node seed ${seed} (HOLDFAST_SEED=${seed} replays the schedule)`);

    const dataDir = mkdtempSync(join(tmpdir(), 'holdfast-redis-'));
    cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
    // Every write fsynced before Redis answers: an acknowledged message survives Redis's SIGKILL.
    // Below the ephemeral range: a killed node or Redis must find its port free when it restarts.
    const redis = await OwnRedis.start(['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dataDir], await restartablePort());
    cleanup.push(() => redis.kill());
    const prefix = freshPrefix();
    const ports: number[] = [];
    while (ports.length < 3) {
      const port = await restartablePort();
      if (port !== redis.port && !ports.includes(port)) ports.push(port);
    }
    const nodes: Array<ChildProcess | undefined> = [undefined, undefined, undefined];
    const start = async (i: number): Promise<void> => {
      const child = cli(['serve', '--redis', redis.url, '--redis-prefix', prefix, '--port', String(ports[i]), '--no-prices']);
      void finished(child);
      nodes[i] = child;
      await listening(child);
    };
    cleanup.push(() => nodes.forEach((child) => child?.kill('SIGKILL')));
    await Promise.all([0, 1, 2].map(start));
    const nginx = await Nginx.start(ports);
    cleanup.push(() => nginx.stop());

    const client = (): HoldfastClient => {
      const made = new HoldfastClient({ url: nginx.url, WebSocket: WebSocket as never, reconnect: { initialDelay: 50, maxDelay: 500 } });
      cleanup.push(() => made.close());
      return made;
    };
    const seen: Array<Array<{ p: number; n: number }>> = [];
    const lostHistory: string[] = [];
    const subscribe = async (received: Array<{ p: number; n: number }>, name: string): Promise<void> => {
      const subscription = client().subscribe('chat:load', (data) => received.push(data as { p: number; n: number }), { from: 'start' });
      // With Redis persisting every write, no resubscription may find its history gone.
      subscription.on('subscribed', (info) => info.recovered || lostHistory.push(`${name}: recovered false`));
      await subscription.ready;
    };
    for (let s = 0; s < SUBSCRIBERS; s++) {
      const received: Array<{ p: number; n: number }> = [];
      seen.push(received);
      await subscribe(received, `subscriber ${s}`);
    }

    let flowing = true;
    const events: string[] = [];
    const chaos = (async () => {
      let redisRestarted = false;
      const began = Date.now();
      while (flowing) {
        await sleep(800 + random() * 800);
        if (!flowing) break;
        if (!redisRestarted && Date.now() - began > 4000) {
          redisRestarted = true;
          events.push('redis SIGKILL');
          await redis.kill();
          await sleep(500 + random() * 500);
          await redis.restart();
          continue;
        }
        const victim = Math.floor(random() * nodes.length);
        events.push(`node ${victim} SIGKILL`);
        nodes[victim]?.kill('SIGKILL');
        nodes[victim] = undefined;
        await sleep(300 + random() * 700);
        await start(victim);
      }
      return redisRestarted;
    })();

    const acknowledged: Array<Promise<void>> = [];
    await Promise.all(
      Array.from({ length: PUBLISHERS }, async (_, p) => {
        const publisher = client();
        for (let n = 0; n < PER_PUBLISHER; n++) {
          acknowledged.push(publisher.publish('chat:load', { p, n }));
          await sleep(PACE);
        }
      }),
    );
    await Promise.all(acknowledged);
    flowing = false;
    const redisRestarted = await chaos;
    console.log(`# chaos: ${events.join(', ')}`);

    const total = PUBLISHERS * PER_PUBLISHER;
    // A subscriber that comes last reads the whole history from the store: what Redis kept.
    const late: Array<{ p: number; n: number }> = [];
    seen.push(late);
    await subscribe(late, 'the late subscriber');
    // Not failing here: the counts below say what arrived, subscriber by subscriber.
    await waitFor(() => seen.every((received) => received.length >= total), 'every subscriber to get every message', 60_000).catch(() => undefined);
    await sleep(500); // anything repeated late would arrive now
    for (const [s, received] of seen.entries()) {
      assert.equal(received.length, total, `subscriber ${s}: ${received.length} messages for ${total} published`);
      for (let p = 0; p < PUBLISHERS; p++) {
        const ns = received.filter((m) => m.p === p).map((m) => m.n);
        assert.deepEqual(ns, Array.from({ length: PER_PUBLISHER }, (_, n) => n), `subscriber ${s}, publisher ${p}: each once, in order`);
      }
    }
    assert.deepEqual(lostHistory, [], 'every resubscription recovered');
    assert.ok(redisRestarted, 'Redis was restarted once during the traffic');
    assert.ok(events.filter((e) => e.startsWith('node')).length >= 3, `nodes were killed: ${events.join(', ')}`);
  });
});
