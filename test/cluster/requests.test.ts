import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { WebSocket } from 'ws';
import { HoldfastClient } from '../../src/client/index.js';
import { Child, freePort, killChildren } from '../support/child-process.js';
import { Nginx, nginxPresent } from '../support/nginx.js';
import { deleteKeys, freshPrefix, REDIS_URL, redisAvailable } from '../support/redis.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { sleep } from '../support/wait.js';

const present = nginxPresent() && (await redisAvailable());
if (!present && process.env['CI'] === 'true') throw new Error(`nginx or Redis at ${REDIS_URL} is missing, and CI provides both: the setup is broken`);

const REQUESTS = 40;
const RUN_MS = 250;

/**
 * Requests across node processes: three nodes on one Redis behind nginx (round robin), and a TCP
 * proxy between the client and nginx that cuts the client's connection again and again while
 * handlers run. Each cut sends the client to another node, where it resends its pending requests:
 * a resend must wait for the run still going on the first node and get its reply, never run the
 * handler again. The handler counts its runs per request in Redis, across all nodes.
 */
describe('requests resent to other nodes', { skip: present ? false : 'needs nginx and Redis (CI provides both)' }, () => {
  const prefix = freshPrefix();
  const cleanup: Array<() => unknown> = [];
  after(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
    await killChildren();
    await deleteKeys(REDIS_URL, prefix);
  });

  it('run once each, answered once each, while the connection is cut mid-run', { timeout: 90_000 }, async () => {
    const seed = Number(process.env['HOLDFAST_SEED'] ?? Date.now() % 1_000_000);
    let state = seed;
    const random = (): number => (state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    console.log(`# requests seed ${seed} (HOLDFAST_SEED=${seed} replays the cuts)`);

    const ports = [await freePort(), await freePort(), await freePort()];
    const nodes = ports.map((port) => new Child('redis-node-child.ts', [String(port), REDIS_URL, prefix]));
    await Promise.all(nodes.map((node) => node.waitForLine((line) => line.startsWith('listening'), 20_000)));
    const nginx = await Nginx.start(ports);
    cleanup.push(() => nginx.stop());
    const proxy = await TcpProxy.start(Number(new URL(nginx.url).port));
    cleanup.push(() => proxy.close());
    const client = new HoldfastClient({
      url: `ws://127.0.0.1:${proxy.port}${new URL(nginx.url).pathname}`,
      WebSocket: WebSocket as never,
      reconnect: { initialDelay: 20, maxDelay: 200 },
      requestTimeout: 60_000,
    });
    cleanup.push(() => client.close());

    let running = true;
    let cuts = 0;
    const cutter = (async () => {
      while (running) {
        await sleep(100 + random() * 300);
        if (running) cuts += proxy.killAll() > 0 ? 1 : 0;
      }
    })();
    const replies: Array<{ id: string; runs: number; port: number }> = [];
    const failures: string[] = [];
    // Four in flight at a time, each taking RUN_MS: most are running when a cut comes.
    const ids = Array.from({ length: REQUESTS }, (_, i) => `r${i}`);
    await Promise.all(
      Array.from({ length: 4 }, async (_, lane) => {
        for (let i = lane; i < ids.length; i += 4) {
          try {
            replies.push((await client.request('work', { id: ids[i], ms: RUN_MS })) as { id: string; runs: number; port: number });
          } catch (error) {
            failures.push(`${ids[i]}: ${error instanceof Error ? error.message : String(error)}`);
          }
        }
      }),
    );
    running = false;
    await cutter;

    assert.deepEqual(failures, [], 'every request answered');
    assert.deepEqual(replies.map((reply) => reply.id).sort(), [...ids].sort(), 'each answered once');
    assert.deepEqual(replies.filter((reply) => reply.runs !== 1), [], 'no reply from a second run');
    const counter = new Redis(REDIS_URL);
    try {
      const runs = await Promise.all(ids.map(async (id) => Number(await counter.get(`${prefix}:runs:${id}`))));
      assert.deepEqual(runs, ids.map(() => 1), 'the handler ran once per request, on all nodes together');
    } finally {
      counter.disconnect();
    }
    const claims = nodes.flatMap((node) => node.lines.filter((line) => line.startsWith('claim ')));
    const resentWhileRunning = claims.filter((line) => line === 'claim running').length;
    console.log(`# ${cuts} cuts; claims: ${['new', 'running', 'done'].map((s) => `${s} ${claims.filter((line) => line === `claim ${s}`).length}`).join(', ')}`);
    assert.ok(cuts >= 5, `the connection was cut while requests ran (${cuts} cuts)`);
    assert.ok(resentWhileRunning > 0, 'some resends found their run still going (the case under test happened)');
    const servedBy = new Set(replies.map((reply) => reply.port));
    assert.ok(servedBy.size >= 2, `runs happened on several nodes: ${[...servedBy].join(', ')}`);
  });
});
